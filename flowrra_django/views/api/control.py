"""Remote control of one worker: POST a command, get the worker's acknowledgement."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.ui.api_requests import control, control_request, terminate

from .base import ApiView, json_response, not_found

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
        done = self.services(lambda s: terminate(s.ui, task_id))
        if done is None:
            raise not_found("task")
        return json_response(done[1], status=done[0])
