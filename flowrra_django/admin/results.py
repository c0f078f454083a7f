"""The task results' admin: filter, search, read, retry and revoke. Its default order and
filters match the table's indexes."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from flowrra.serialization import dumps
from flowrra.task import TaskStatus, new_task_id, utcnow

from .. import api
from ..models import TaskResult
from ..runtime import get_app
from .changelist import CappedCountPaginator, QueueFilter, TaskNameFilter

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
