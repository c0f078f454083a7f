"""The JSON API outside Django: the paths, bodies and errors of the Django app's API
(``docs/api.md``), over the same services and payload shapes (:mod:`flowrra.ui.serialize`).
Whoever passes the adapter's access check may use every endpoint. A handler raises
:class:`~flowrra.ui.api_requests.ApiProblem` for a request it cannot carry out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...exceptions import ResultNotFoundError
from ..api_requests import (
    ApiProblem,
    control,
    control_request,
    create_schedule,
    save_schedule,
    schedule_action,
    schedule_definition,
    terminate,
)
from ..filters import parse_task_filters
from ..serialize import (
    queues_page_json,
    stats_json,
    task_detail_json,
    tasks_page_json,
    worker_detail_json,
    workers_page_json,
)
from ..submission import SubmissionError
from .http import Request, Response, error

if TYPE_CHECKING:
    from .site import Dashboard

#: The largest request body read (bytes), as the Django API's default ``API_MAX_BODY``.
MAX_BODY = 1_000_000


def _object_body(request: Request) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ApiProblem(413, f"The body is larger than {MAX_BODY} bytes.")
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(400, "The body is not JSON.", {"body": str(exc)[:200]}) from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "Send a JSON object.", {"body": "a JSON object"})
    return data


def _task_link(request: Request, task_id: str) -> str:
    return f"{request.base}api/tasks/{task_id}/"


def _not_found(what: str) -> Response:
    return error(404, f"No {what} with this id.")


async def task_list(dashboard: Dashboard, request: Request) -> Response:
    try:
        filters = parse_task_filters(request.query)
        data = await dashboard.ui.get_tasks_page_data(query=filters.query)
    except ValueError as exc:  # InvalidFilter, or a cursor this backend did not make
        field = getattr(exc, "field", "after")
        return error(400, "Invalid filter.", {field: getattr(exc, "message", str(exc))})
    return Response.json(tasks_page_json(data))


async def task_submit(dashboard: Dashboard, request: Request) -> Response:
    try:
        task_id = await dashboard.ui.submit_task(_object_body(request))
    except SubmissionError as exc:
        return error(400, "The task was not submitted.", exc.errors)
    return Response.json({"task_id": task_id, "url": _task_link(request, task_id)}, 201)


async def task_detail(dashboard: Dashboard, request: Request, task_id: str) -> Response:
    data = await dashboard.ui.get_task_data(task_id)
    if data is None:
        return _not_found("task")
    return Response.json(task_detail_json(data))


async def task_retry(dashboard: Dashboard, request: Request, task_id: str) -> Response:
    try:
        new_id = await dashboard.ui.retry_task(task_id)
    except ValueError as exc:
        return error(409, f"Not retried: {exc}.")
    if new_id is None:
        return _not_found("task")
    body = {"task_id": new_id, "retry_of": task_id, "url": _task_link(request, new_id)}
    return Response.json(body, 201)


async def task_revoke(dashboard: Dashboard, request: Request, task_id: str) -> Response:
    try:
        revoked = await dashboard.ui.revoke_task(task_id)
    except ResultNotFoundError:
        return _not_found("task")
    if not revoked:
        if await dashboard.ui.backend.get(task_id) is None:
            return _not_found("task")
        return error(409, "Not revoked: the task has already started or finished.")
    return Response.json({"task_id": task_id, "revoked": True})


async def task_types(dashboard: Dashboard, request: Request) -> Response:
    return Response.json({"task_types": [spec.describe() for spec in dashboard.app.registry]})


async def schedule_list(dashboard: Dashboard, request: Request) -> Response:
    return Response.json({"schedules": await dashboard.schedules.list_schedules()})


async def schedule_detail(dashboard: Dashboard, request: Request, schedule_id: str) -> Response:
    schedule = await dashboard.schedules.get_schedule(schedule_id)
    return Response.json(schedule) if schedule is not None else _not_found("schedule")


async def schedule_create(dashboard: Dashboard, request: Request) -> Response:
    definition = schedule_definition(_object_body(request))
    return Response.json(await create_schedule(dashboard.schedules, definition), 201)


async def schedule_save(dashboard: Dashboard, request: Request, schedule_id: str) -> Response:
    """PUT replaces a schedule's definition, PATCH changes the fields given."""
    definition = schedule_definition(_object_body(request))
    merge = request.method == "PATCH"
    saved = await save_schedule(dashboard.schedules, schedule_id, definition, merge=merge)
    return Response.json(saved) if saved is not None else _not_found("schedule")


async def schedule_delete(dashboard: Dashboard, request: Request, schedule_id: str) -> Response:
    deleted = await dashboard.schedules.delete_schedule(schedule_id)
    if not deleted["success"]:
        return _not_found("schedule")
    return Response.json({"id": schedule_id, "deleted": True})


async def schedule_act(
    dashboard: Dashboard, request: Request, schedule_id: str, action: str
) -> Response:
    done = await schedule_action(dashboard.schedules, schedule_id, action)
    if done is None:
        return _not_found("schedule")
    return Response.json(done[1], done[0])


async def worker_control(dashboard: Dashboard, request: Request, worker_id: str) -> Response:
    command, arguments, timeout = control_request(_object_body(request))
    status, body = await control(dashboard.ui, worker_id, command, arguments, timeout, missing=404)
    return Response.json(body, status)


async def task_terminate(dashboard: Dashboard, request: Request, task_id: str) -> Response:
    done = await terminate(dashboard.ui, task_id)
    return Response.json(done[1], done[0]) if done is not None else _not_found("task")


async def openapi(dashboard: Dashboard, request: Request) -> Response:
    """The API's OpenAPI document, its server this dashboard's API."""
    from ..openapi import document

    access = (
        "Authenticate with 'Authorization: Bearer <token>' (the adapter's api_tokens), or as "
        "the adapter's authorize hook lets you in (writes then as JSON, from this site)."
    )
    doc = document(access, session=False)
    host = request.header("host")
    doc["servers"] = [{"url": f"//{host}{request.base}api" if host else f"{request.base}api"}]
    return Response.json(doc)


async def worker_list(dashboard: Dashboard, request: Request) -> Response:
    return Response.json(workers_page_json(await dashboard.ui.get_workers_page_data()))


async def worker_detail(dashboard: Dashboard, request: Request, worker_id: str) -> Response:
    detail = await dashboard.ui.get_worker_detail(worker_id)
    return Response.json(worker_detail_json(detail)) if detail else _not_found("worker")


async def queue_list(dashboard: Dashboard, request: Request) -> Response:
    return Response.json(queues_page_json(await dashboard.ui.get_queues_page_data()))


async def dead_letter_action(
    dashboard: Dashboard, request: Request, letter_id: str, action: str
) -> Response:
    try:
        done = await dashboard.ui.act_on_dead_letter(letter_id, action)
    except NotImplementedError:
        return error(404, "This broker does not keep dead letters.")
    except ValueError as exc:
        return error(409, f"Not requeued: {exc}")
    if not done:
        return _not_found("dead letter")
    return Response.json({"id": letter_id, "action": action, "done": True})


async def stats(dashboard: Dashboard, request: Request) -> Response:
    return Response.json(stats_json(await dashboard.ui.get_stats_data()))
