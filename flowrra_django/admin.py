"""Admin for task results (filter, search, read, retry, revoke) and scheduled tasks.

The result changelist is built for large tables: its filters take their choices from the
task registry instead of ``SELECT DISTINCT``, it never counts the whole table (see
:class:`CappedCountPaginator`), and its default order and filters match the indexes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from flowrra.serialization import dumps
from flowrra.task import TaskStatus, new_task_id, utcnow

from . import api
from .forms import ScheduledTaskForm
from .models import ScheduledTask, TaskResult
from .runtime import get_app

_TASK_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

#: The most rows one retry or revoke action handles.
MAX_ACTION_ROWS = 1000

_STATUS_COLORS = {
    TaskStatus.PENDING: "#6c757d",
    TaskStatus.RUNNING: "#0d6efd",
    TaskStatus.SUCCESS: "#198754",
    TaskStatus.FAILED: "#dc3545",
    TaskStatus.RETRYING: "#fd7e14",
    TaskStatus.REVOKED: "#6f42c1",
}


class CappedCountPaginator(Paginator):
    """A paginator that never counts a huge table row by row.

    Unfiltered on PostgreSQL it uses the planner's row estimate; otherwise it counts at
    most ``cap`` rows (an index range scan), so the last page shown is at most
    ``cap / per_page`` and filters narrow further.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate is not None and estimate > self.cap:
                return estimate
        return queryset.order_by()[: self.cap].count()


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


class RegistryChoiceFilter(admin.SimpleListFilter):
    """A filter whose choices come from the task registry, not from the table."""

    field = ""

    def choices_from_registry(self) -> list[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in self.choices_from_registry()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class TaskNameFilter(RegistryChoiceFilter):
    title = _("task")
    parameter_name = field = "task_name"

    def choices_from_registry(self) -> list[str]:
        return [spec.name for spec in get_app().registry]


class QueueFilter(RegistryChoiceFilter):
    title = _("queue")
    parameter_name = field = "queue"

    def choices_from_registry(self) -> list[str]:
        return sorted({"default"} | get_app().registry.queues())


def _pretty_json(value: Any) -> str:
    text = json.dumps(json.loads(dumps(value)), indent=2, ensure_ascii=False)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', text)


@admin.register(TaskResult)
class TaskResultAdmin(admin.ModelAdmin):
    list_display = (
        "task_id",
        "task_name",
        "status_badge",
        "queue",
        "priority",
        "submitted_at",
        "runtime_display",
        "retries",
        "worker",
    )
    list_filter = (
        "status",
        TaskNameFilter,
        QueueFilter,
        ("submitted_at", admin.DateFieldListFilter),
    )
    search_fields = ("=task_id", "task_name", "args", "error")
    search_help_text = _("Exact task id, or words in the task name, arguments or error.")
    ordering = ("-submitted_at",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ("retry_selected", "revoke_selected")
    fieldsets = (
        (None, {"fields": ("task_id", "task_name", "status_badge", "queue", "priority")}),
        (_("Arguments and result"), {"fields": ("args_pretty", "kwargs_pretty", "result_pretty")}),
        (_("Error"), {"fields": ("error_type", "error", "traceback_pre")}),
        (
            _("Timing"),
            {"fields": ("submitted_at", "started_at", "finished_at", "runtime_display")},
        ),
        (_("Execution"), {"fields": ("retries", "worker", "retry_of", "retried_as_links")}),
    )
    readonly_fields = (
        "task_id",
        "task_name",
        "status_badge",
        "queue",
        "priority",
        "args_pretty",
        "kwargs_pretty",
        "result_pretty",
        "error_type",
        "error",
        "traceback_pre",
        "submitted_at",
        "started_at",
        "finished_at",
        "runtime_display",
        "retries",
        "worker",
        "retry_of",
        "retried_as_links",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # results are written by workers; the detail page is read-only

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TaskResult], search_term: str
    ) -> tuple[QuerySet[TaskResult], bool]:
        """A term shaped like a task id looks up that id (the unique index) instead of
        scanning every row's name, arguments and error for it."""
        term = search_term.strip()
        if _TASK_ID.fullmatch(term):
            return queryset.filter(task_id=term), False
        return super().get_search_results(request, queryset, search_term)

    def has_control_permission(self, request: HttpRequest) -> bool:
        """Who may retry and revoke: users with the "change task result" permission."""
        return request.user.has_perm("flowrra_django.change_taskresult")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: TaskResult) -> str:
        color = _STATUS_COLORS.get(TaskStatus(obj.status), "#6c757d")
        return format_html(
            '<span style="color:#fff;background:{};padding:1px 6px;border-radius:3px">{}</span>',
            color,
            obj.get_status_display(),
        )

    @admin.display(description=_("runtime"), ordering="runtime")
    def runtime_display(self, obj: TaskResult) -> str:
        if obj.runtime is None:
            return "-"
        return f"{obj.runtime * 1000:.1f} ms" if obj.runtime < 1 else f"{obj.runtime:.2f} s"

    @admin.display(description=_("args"))
    def args_pretty(self, obj: TaskResult) -> str:
        return _pretty_json(obj.args)

    @admin.display(description=_("kwargs"))
    def kwargs_pretty(self, obj: TaskResult) -> str:
        return _pretty_json(obj.kwargs)

    @admin.display(description=_("result"))
    def result_pretty(self, obj: TaskResult) -> str:
        return _pretty_json(obj.result)

    @admin.display(description=_("traceback"))
    def traceback_pre(self, obj: TaskResult) -> str:
        if not obj.traceback:
            return "-"
        return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', obj.traceback)

    @admin.display(description=_("retried as"))
    def retried_as_links(self, obj: TaskResult) -> str:
        ids = list(obj.retried_as.values_list("task_id", flat=True)[:20])
        return ", ".join(ids) or "-"

    @admin.action(description=_("Retry selected tasks"), permissions=["control"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> None:
        originals = self._bounded(request, queryset)
        registry = get_app().registry
        retried = 0
        for original in originals:
            if original.task_name not in registry:
                self.message_user(
                    request,
                    _("%(task)s is not a registered task any more; not retried.")
                    % {"task": original.task_name},
                    messages.WARNING,
                )
                continue
            retry_task(original)
            retried += 1
        if retried:
            self.message_user(
                request,
                ngettext("Submitted %d task again.", "Submitted %d tasks again.", retried)
                % retried,
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Revoke selected tasks (those not started)"), permissions=["control"]
    )
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> None:
        waiting = {TaskStatus.PENDING.value, TaskStatus.RETRYING.value}
        revoked = skipped = 0
        for result in self._bounded(request, queryset):
            if result.status in waiting and api.revoke(result.task_id):
                revoked += 1
            else:
                skipped += 1
        if revoked:
            self.message_user(
                request,
                ngettext("Revoked %d task.", "Revoked %d tasks.", revoked) % revoked,
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%d task had already started or finished; not revoked.",
                    "%d tasks had already started or finished; not revoked.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )

    def _bounded(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> list[TaskResult]:
        rows = list(queryset.order_by("-submitted_at", "-pk")[: MAX_ACTION_ROWS + 1])
        if len(rows) > MAX_ACTION_ROWS:
            self.message_user(
                request,
                _("Only the %(n)d newest selected tasks were handled.") % {"n": MAX_ACTION_ROWS},
                messages.WARNING,
            )
        return rows[:MAX_ACTION_ROWS]


def retry_task(original: TaskResult) -> str:
    """Submit ``original``'s task again with the same arguments, queue and priority; the
    new result links back to it. Returns the new task id."""
    task_id = new_task_id()
    TaskResult.objects.create(
        task_id=task_id,
        task_name=original.task_name,
        status=TaskStatus.PENDING.value,
        args=original.args,
        kwargs=original.kwargs,
        queue=original.queue,
        priority=original.priority,
        submitted_at=utcnow(),
        retry_of=original,
    )
    submission = api.options(
        task_id=task_id, queue=original.queue, priority=original.priority, on_commit=True
    )
    return submission.submit(original.task_name, *original.args, **original.kwargs)


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
