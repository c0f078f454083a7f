"""Tasks: the list (the dashboard's filters, search and cursor pages), one task, submit
by name, retry and revoke."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from flowrra.exceptions import ResultNotFoundError
from flowrra.ui import parse_task_filters
from flowrra.ui.serialize import task_detail_json, tasks_page_json
from flowrra.ui.submission import SubmissionError

from .base import ApiError, ApiView, json_response, not_found

CONTROL = "flowrra_django.change_taskresult"


def _task_link(task_id: str) -> str:
    return reverse("flowrra:api-task", args=[task_id])


class TaskListApi(ApiView):
    """GET: a page of tasks (``status``, ``task``, ``queue``, ``worker``, ``range``,
    ``from``, ``to``, ``q``, ``sort``, ``per_page``, ``after``); POST: submit a task."""

    permissions = {"POST": CONTROL}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            filters = parse_task_filters(request.GET)
            data = self.services(lambda s: s.ui.get_tasks_page_data(query=filters.query))
        except ValueError as exc:  # InvalidFilter, or a cursor this backend did not make
            field = getattr(exc, "field", "after")
            raise ApiError(
                400, "Invalid filter.", {field: getattr(exc, "message", str(exc))}
            ) from None
        return json_response(tasks_page_json(data))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        body = self.object_body()
        try:
            task_id = self.services(lambda s: s.ui.submit_task(body))
        except SubmissionError as exc:
            raise ApiError(400, "The task was not submitted.", exc.errors) from None
        return json_response({"task_id": task_id, "url": _task_link(task_id)}, status=201)


class TaskDetailApi(ApiView):
    def get(self, request: HttpRequest, *args: Any, task_id: str, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.ui.get_task_data(task_id))
        if data is None:
            raise not_found("task")
        return json_response(task_detail_json(data))


class TaskRetryApi(ApiView):
    """Submit a stored task again with its arguments, queue and priority."""

    permissions = {"POST": CONTROL}

    def post(self, request: HttpRequest, *args: Any, task_id: str, **kwargs: Any) -> JsonResponse:
        try:
            new_id = self.services(lambda s: s.ui.retry_task(task_id))
        except ValueError as exc:
            raise ApiError(409, f"Not retried: {exc}.") from None
        if new_id is None:
            raise not_found("task")
        return json_response(
            {"task_id": new_id, "retry_of": task_id, "url": _task_link(new_id)}, status=201
        )


class TaskRevokeApi(ApiView):
    """Revoke a task that no worker has started; 409 once it has started or finished."""

    permissions = {"POST": CONTROL}

    def post(self, request: HttpRequest, *args: Any, task_id: str, **kwargs: Any) -> JsonResponse:
        try:
            revoked = self.services(lambda s: s.ui.revoke_task(task_id))
        except ResultNotFoundError:
            raise not_found("task") from None
        if not revoked:
            if self.services(lambda s: s.ui.backend.get(task_id)) is None:
                raise not_found("task")
            raise ApiError(409, "Not revoked: the task has already started or finished.")
        return json_response({"task_id": task_id, "revoked": True})


class TaskTypeListApi(ApiView):
    """The registered task types and their options."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        from ...runtime import get_app

        return json_response({"task_types": [spec.describe() for spec in get_app().registry]})
