"""Remote control of one worker: POST a command, get the worker's acknowledgement."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.task import TaskStatus
from flowrra.ui.api_requests import control, control_request

from .base import ApiError, ApiView, json_response, not_found

CONTROL_WORKER = "flowrra_django.control_worker"


class WorkerControlApi(ApiView):
    """``{"command": "pause", "args": {"queue": "emails"}, "timeout": 5}``: 200 with the
    worker's reply, 409 when the worker refused, 504 when no reply came in time."""

    permissions = {"POST": CONTROL_WORKER}

    def post(self, request: HttpRequest, *args: Any, worker_id: str, **kwargs: Any) -> JsonResponse:
        command, arguments, timeout = control_request(self.object_body())
        status, body = self.services(
            lambda s: control(s.ui, worker_id, command, arguments, timeout, missing=404)
        )
        return json_response(body, status=status)


class TaskTerminateApi(ApiView):
    """Terminate a running task on the worker that runs it (it ends REVOKED)."""

    permissions = {"POST": CONTROL_WORKER}

    def post(self, request: HttpRequest, *args: Any, task_id: str, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.ui.get_task_data(task_id))
        if data is None:
            raise not_found("task")
        task = data["task"]
        if task.status is not TaskStatus.RUNNING or not task.worker:
            raise ApiError(409, f"Not terminated: the task is {task.status.value}, not running.")
        terminate = {"task_id": task_id}
        status, body = self.services(
            lambda s: control(s.ui, task.worker, "terminate", terminate, 5.0, missing=409)
        )
        return json_response(body, status=status)
