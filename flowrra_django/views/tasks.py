"""The task list (filters, search, keyset pages), a task's page, retry and revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from flowrra.backends.query import SEARCH_WINDOW
from flowrra.exceptions import ResultNotFoundError
from flowrra.task import TaskStatus
from flowrra.ui import parse_task_filters
from flowrra.ui.filters import PAGE_SIZES, RANGES

from .access import ActionView
from .pages import DashboardPage, bad_request


class TaskListView(DashboardPage):
    page = "tasks.html"
    section = "tasks"
    title = "Tasks"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        try:
            filters = parse_task_filters(request.GET, timezone=timezone.get_current_timezone())
            data = self.services(lambda s: s.ui.get_tasks_page_data(query=filters.query))
        except ValueError as exc:  # InvalidFilter, or a cursor this backend did not make
            return bad_request(request, context, str(exc))
        params = request.GET.copy()
        params.pop("after", None)
        context.update(
            data,
            filters=filters.values,
            filtered=filters.query.filtered,
            statuses=[status.value for status in TaskStatus],
            ranges=list(RANGES),
            page_sizes=PAGE_SIZES,
            first_page_query=params.urlencode(),
            first_page=not request.GET.get("after"),
            search_window=f"{SEARCH_WINDOW:,}",
        )
        if data["next_cursor"]:
            params["after"] = data["next_cursor"]
            context["next_page_query"] = params.urlencode()
        return self.render_to_response(context)


class TaskDetailView(DashboardPage):
    page = "task_detail.html"
    section = "tasks"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        task_id = kwargs["task_id"]
        full = self.request.GET.get("full") == "1"
        detail = self.services(lambda s: s.ui.get_task_detail(task_id, full=full))
        if detail is None:
            raise Http404("No task with this id is stored.")
        context.update(detail, title=f"Task {task_id}", full=full)
        return context


def _task_url(task_id: str) -> str:
    return reverse("flowrra:task", args=[task_id])


class TaskRetryView(ActionView):
    permission = "flowrra_django.change_taskresult"

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        from .. import dashboard

        task_id = kwargs["task_id"]
        try:
            new_id = dashboard.call(lambda s: s.ui.retry_task(task_id))
        except ValueError as exc:
            return messages.ERROR, f"Not retried: {exc}.", _task_url(task_id)
        if new_id is None:
            raise Http404("No task with this id is stored.")
        return messages.SUCCESS, "Submitted the task again.", _task_url(new_id)


class TaskRevokeView(ActionView):
    permission = "flowrra_django.change_taskresult"

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        from .. import dashboard

        task_id = kwargs["task_id"]
        try:
            revoked = dashboard.call(lambda s: s.ui.revoke_task(task_id))
        except ResultNotFoundError:
            raise Http404("No task with this id is stored.") from None
        if revoked:
            return messages.SUCCESS, "Revoked: no worker will run it.", _task_url(task_id)
        text = "Not revoked: the task has already started or finished."
        return messages.WARNING, text, _task_url(task_id)
