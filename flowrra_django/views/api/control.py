"""Remote control of one worker: POST a command, get the worker's acknowledgement."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.control import ControlError
from flowrra.exceptions import UnsupportedFeatureError
from flowrra.task import TaskStatus

from .base import ApiError, ApiView, json_response, not_found

CONTROL_WORKER = "flowrra_django.control_worker"
#: Longest wait for a worker's reply a request may ask for (seconds).
MAX_TIMEOUT = 30.0


class WorkerControlApi(ApiView):
    """``{"command": "pause", "args": {"queue": "emails"}, "timeout": 5}``: 200 with the
    worker's reply, 409 when the worker refused, 504 when no reply came in time."""

    permissions = {"POST": CONTROL_WORKER}

    def post(self, request: HttpRequest, *args: Any, worker_id: str, **kwargs: Any) -> JsonResponse:
        body = self.object_body()
        unknown = sorted(set(body) - {"command", "args", "timeout"})
        if unknown:
            raise ApiError(
                400,
                "Unknown fields.",
                {name[:50]: "unknown; known: command, args, timeout" for name in unknown},
            )
        command = body.get("command")
        arguments = body.get("args", {})
        timeout = body.get("timeout", 5)
        if not isinstance(command, str):
            raise ApiError(400, "Name the command.", {"command": "a command name"})
        if not isinstance(arguments, dict):
            raise ApiError(400, "Invalid arguments.", {"args": "a JSON object"})
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 0 < timeout <= MAX_TIMEOUT
        ):
            raise ApiError(
                400,
                "Invalid timeout.",
                {"timeout": f"seconds, more than 0 and at most {MAX_TIMEOUT:g}"},
            )
        return send(self, worker_id, command, arguments, timeout, missing=404)


def send(
    view: ApiView,
    worker_id: str,
    command: str,
    arguments: dict[str, Any],
    timeout: float,
    *,
    missing: int,
) -> JsonResponse:
    """Send a command and answer with the worker's reply: 200, 409 when it refused (or the
    broker has no remote control), ``missing`` when no such worker is online, 504 when no
    reply came in time."""
    try:
        reply = view.services(lambda s: s.ui.control_worker(worker_id, command, arguments, timeout))
    except ControlError as exc:
        raise ApiError(400, "The command was not sent.", {"command": str(exc)}) from None
    except UnsupportedFeatureError as exc:
        raise ApiError(409, str(exc)) from None
    except LookupError:
        raise ApiError(missing, f"No online worker {worker_id[:200]}.") from None
    if reply is None:
        raise ApiError(504, f"Worker {worker_id[:200]} did not reply within {timeout:g} s.")
    if not reply["ok"]:
        refused = {"error": f"The worker refused: {reply['message']}", "status": 409}
        return json_response({**refused, "reply": reply}, status=409)
    return json_response({"reply": reply})


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
        return send(self, task.worker, "terminate", {"task_id": task_id}, 5.0, missing=409)
