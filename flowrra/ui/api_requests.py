"""What the API's write requests may carry, and what they do, framework-free: the Django
API (:mod:`flowrra_django.views.api`) and the other frameworks' dashboards
(:mod:`flowrra.ui.web.api`) both answer through these, so they accept and refuse alike.

A request that cannot be carried out raises :class:`ApiProblem` with the HTTP status,
message and field errors to answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..control import ControlError
from ..exceptions import UnsupportedFeatureError
from ..task import TaskStatus
from .schedule_definition import FIELDS, ScheduleConflict, ScheduleValidationError
from .schedules import ScheduleService
from .service import UIService

#: Longest wait for a worker's reply a request may ask for (seconds).
MAX_CONTROL_TIMEOUT = 30.0


class ApiProblem(Exception):
    """An answer other than success: ``status``, a message and, for a 400, field errors."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


def control_request(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], float]:
    """``{"command": "pause", "args": {"queue": "emails"}, "timeout": 5}`` as (command,
    arguments, timeout)."""
    unknown = sorted(set(body) - {"command", "args", "timeout"})
    if unknown:
        known = "unknown; known: command, args, timeout"
        raise ApiProblem(400, "Unknown fields.", {name[:50]: known for name in unknown})
    command = body.get("command")
    arguments = body.get("args", {})
    timeout = body.get("timeout", 5)
    if not isinstance(command, str):
        raise ApiProblem(400, "Name the command.", {"command": "a command name"})
    if not isinstance(arguments, dict):
        raise ApiProblem(400, "Invalid arguments.", {"args": "a JSON object"})
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not 0 < timeout <= MAX_CONTROL_TIMEOUT
    ):
        bound = f"seconds, more than 0 and at most {MAX_CONTROL_TIMEOUT:g}"
        raise ApiProblem(400, "Invalid timeout.", {"timeout": bound})
    return command, arguments, float(timeout)


async def control(
    ui: UIService,
    worker_id: str,
    command: str,
    arguments: dict[str, Any],
    timeout: float,
    *,
    missing: int,
) -> tuple[int, dict[str, Any]]:
    """Send a command; (status, body): 200 with the worker's reply, 409 when it refused
    (or the broker has no remote control), ``missing`` when no such worker is online, 504
    when no reply came in time."""
    try:
        reply = await ui.control_worker(worker_id, command, arguments, timeout)
    except ControlError as exc:
        raise ApiProblem(400, "The command was not sent.", {"command": str(exc)}) from None
    except UnsupportedFeatureError as exc:
        raise ApiProblem(409, str(exc)) from None
    except LookupError:
        raise ApiProblem(missing, f"No online worker {worker_id[:200]}.") from None
    if reply is None:
        raise ApiProblem(504, f"Worker {worker_id[:200]} did not reply within {timeout:g} s.")
    if not reply["ok"]:
        refused = {"error": f"The worker refused: {reply['message']}", "status": 409}
        return 409, {**refused, "reply": reply}
    return 200, {"reply": reply}


def schedule_definition(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's schedule fields (400 for any other field)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        known = ", ".join(FIELDS)
        raise ApiProblem(
            400, "Unknown fields.", {name[:50]: f"unknown; known: {known}" for name in unknown}
        )
    return dict(body)


async def create_schedule(
    schedules: ScheduleService, definition: dict[str, Any]
) -> dict[str, Any] | None:
    """Create a schedule (enabled unless ``definition`` says otherwise); it as stored."""
    with _saving():
        schedule_id = await schedules.create_schedule({"enabled": True, **definition})
    return await schedules.get_schedule(schedule_id)


async def save_schedule(
    schedules: ScheduleService, schedule_id: str, definition: dict[str, Any], *, merge: bool
) -> dict[str, Any] | None:
    """Replace a schedule's definition (PUT) or change the fields given (``merge``, PATCH);
    it as stored, or None if there is no such schedule."""
    current = await schedules.get_schedule(schedule_id)
    if current is None:
        return None
    base = {key: current[key] for key in FIELDS} if merge else {"enabled": True}
    with _saving():
        await schedules.update_schedule(schedule_id, {**base, **definition})
    return await schedules.get_schedule(schedule_id)


async def schedule_action(
    schedules: ScheduleService, schedule_id: str, action: str
) -> tuple[int, dict[str, Any]] | None:
    """``enable``, ``disable`` or ``run`` a schedule: (status, body), None if unknown."""
    if await schedules.get_schedule(schedule_id) is None:
        return None
    if action == "run":
        try:
            task_id = await schedules.run_now(schedule_id)
        except (TypeError, ValueError) as exc:  # stored before arguments were checked
            raise ApiProblem(409, f"Not run: {exc}") from None
        return 201, {"schedule_id": schedule_id, "task_id": task_id}
    try:
        if action == "enable":
            await schedules.enable_schedule(schedule_id)
        else:
            await schedules.disable_schedule(schedule_id)
    except ValueError as exc:
        raise ApiProblem(409, f"Not changed: {exc}.") from None
    return 200, await schedules.get_schedule(schedule_id) or {}


class _saving:
    """Schedule validation errors as the API's 400 and 409."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ScheduleConflict):
            raise ApiProblem(409, "The schedule was not saved.", exc.errors) from None
        if isinstance(exc, ScheduleValidationError):
            raise ApiProblem(400, "The schedule was not saved.", exc.errors) from None


async def terminate(ui: UIService, task_id: str) -> tuple[int, dict[str, Any]] | None:
    """Terminate a running task on the worker that runs it (it ends REVOKED): (status,
    body) as :func:`control` answers, 409 when it is not running, None if unknown."""
    data = await ui.get_task_data(task_id)
    if data is None:
        return None
    task = data["task"]
    if task.status is not TaskStatus.RUNNING or not task.worker:
        raise ApiProblem(409, f"Not terminated: the task is {task.status.value}, not running.")
    return await control(ui, task.worker, "terminate", {"task_id": task_id}, 5.0, missing=409)
