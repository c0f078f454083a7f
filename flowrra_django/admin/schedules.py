"""The schedules' admin: a change there is seen by the beat at its next look (it clears
``next_run_at`` when the definition changes, and the beat plans the run again)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from flowrra.task import utcnow

from ..forms import ScheduledTaskForm
from ..models import ScheduledTask


@admin.register(ScheduledTask)
class ScheduledTaskAdmin(admin.ModelAdmin):
    form = ScheduledTaskForm
    list_display = (
        "name",
        "task_name",
        "schedule_type",
        "schedule",
        "enabled",
        "last_run_at",
        "next_run_at",
        "total_run_count",
    )
    list_filter = ("enabled", "schedule_type")
    search_fields = ("name", "task_name", "description")
    actions = ("enable_selected", "disable_selected")
    readonly_fields = ("last_run_at", "next_run_at", "total_run_count", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "task_name", "description", "enabled")}),
        (_("When"), {"fields": ("schedule_type", "schedule", "timezone", "missed_policy")}),
        (_("Arguments"), {"fields": ("args", "kwargs")}),
        (_("Options"), {"fields": ("queue", "priority", "max_retries", "retry_delay")}),
        (
            _("History"),
            {
                "fields": (
                    "last_run_at",
                    "next_run_at",
                    "total_run_count",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: ScheduledTask, form: Any, change: bool) -> None:
        if change and set(form.changed_data) & {"schedule_type", "schedule", "timezone", "enabled"}:
            obj.next_run_at = None  # flowrra_beat plans the next run from the new definition
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Enable selected schedules"), permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[ScheduledTask]) -> None:
        count = queryset.filter(enabled=False).update(
            enabled=True, next_run_at=None, updated_at=utcnow()
        )
        self.message_user(
            request, ngettext("Enabled %d schedule.", "Enabled %d schedules.", count) % count
        )

    @admin.action(description=_("Disable selected schedules"), permissions=["change"])
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[ScheduledTask]) -> None:
        count = queryset.filter(enabled=True).update(enabled=False, updated_at=utcnow())
        self.message_user(
            request, ngettext("Disabled %d schedule.", "Disabled %d schedules.", count) % count
        )
