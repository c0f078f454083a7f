"""The API's OpenAPI 3.1 document, served at ``api/openapi.json`` by the Django app and by
the FastAPI, Flask and Quart dashboards (which say how they authenticate): its paths here,
its schemas in :mod:`flowrra.ui.openapi_schemas`.

Written by hand next to the views; ``tests/django/api`` checks every endpoint's real
responses against it, and schemathesis fuzzes the API from it. Over 350 lines: every path of
one document, spelled out so that it reads as the API's reference.
"""

from __future__ import annotations

from typing import Any

from flowrra.task import TaskStatus

from .openapi_schemas import (
    NULLABLE_NUMBER,
    NULLABLE_STRING,
    SCHEMAS,
    list_of,
    object_schema,
    ref,
)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    responses: dict[str, Any],
    *,
    body: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    write: bool = False,
) -> dict[str, Any]:
    errors = {
        "401": _error("Not logged in and no valid bearer token"),
        "403": _error("Not staff, or missing the permission (or the CSRF token)"),
        "503": _error("The database, broker or result backend did not answer"),
    }
    if write:
        errors["400"] = _error("Invalid input; ``fields`` names each wrong field")
        errors["413"] = _error("The body is larger than FLOWRRA['API_MAX_BODY']")
    operation: dict[str, Any] = {"summary": summary, "responses": {**responses, **errors}}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_FILTERS = [
    _query(
        "status",
        {"type": "array", "items": {"type": "string", "enum": [s.value for s in TaskStatus]}},
        "statuses (repeat the parameter for several)",
    ),
    _query("task", {"type": "string"}, "task name"),
    _query("queue", {"type": "string"}, "queue"),
    _query("worker", {"type": "string"}, "worker id"),
    _query("range", {"type": "string", "enum": ["15m", "1h", "24h", "7d", "30d"]}, "the last ..."),
    _query("from", {"type": "string"}, "submitted at or after (ISO 8601)"),
    _query("to", {"type": "string"}, "submitted before (ISO 8601)"),
    _query("q", {"type": "string", "maxLength": 200}, "search in ids, names, arguments, errors"),
    _query("sort", {"type": "string", "enum": ["newest", "oldest"]}, "order"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page"),
    _query("after", {"type": "string"}, "the previous page's next_cursor"),
]
_NOT_FOUND = _error("No such object")
_DEAD_LETTER_DONE = object_schema(
    {"id": {"type": "string"}, "action": {"type": "string"}, "done": {"type": "boolean"}}
)
_CONFLICT = _error("The object's state does not allow it")


DJANGO_ACCESS = (
    "Authenticate with the Django session (send X-CSRFToken on writes) or "
    "'Authorization: Bearer <token>' from FLOWRRA['API_TOKENS']; staff only, "
    "with the dashboard's permissions."
)


def document(access: str = DJANGO_ACCESS, session: bool = True) -> dict[str, Any]:
    """The document; ``access`` says how to authenticate, ``session`` whether a session
    cookie does (the Django app's)."""
    """The OpenAPI document; ``servers`` is left to the caller (the view adds its URL)."""
    task_id = [_path_param("task_id")]
    schedule_id = [_path_param("schedule_id")]
    letter_id = [_path_param("letter_id")]
    schedule_out = _json(ref("Schedule"))

    def change(summary: str) -> dict[str, Any]:
        return _operation(
            summary,
            {"200": schedule_out, "404": _NOT_FOUND, "409": _error("The name is taken")},
            body="ScheduleDefinition",
            parameters=schedule_id,
            write=True,
        )

    def action(summary: str, ok: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "post": _operation(
                summary, {**ok, "404": _NOT_FOUND, "409": _CONFLICT}, parameters=params
            )
        }

    paths: dict[str, Any] = {
        "/tasks/": {
            "get": _operation(
                "A page of tasks, newest first",
                {"200": _json(ref("TaskPage")), "400": _error("An invalid filter")},
                parameters=_FILTERS,
            ),
            "post": _operation(
                "Submit a registered task by name (needs change_taskresult)",
                {"201": _json(ref("Submitted"), "Submitted")},
                body="Submission",
                write=True,
            ),
        },
        "/tasks/{task_id}/": {
            "get": _operation(
                "One task with its retry links",
                {"200": _json(ref("TaskDetail")), "404": _NOT_FOUND},
                parameters=task_id,
            )
        },
        "/tasks/{task_id}/retry/": action(
            "Submit the task again (needs change_taskresult)",
            {"201": _json(ref("Submitted"), "Submitted")},
            task_id,
        ),
        "/tasks/{task_id}/revoke/": action(
            "Revoke a task no worker has started (needs change_taskresult)",
            {"200": _json(ref("Revoked"))},
            task_id,
        ),
        "/tasks/{task_id}/terminate/": {
            "post": _operation(
                "Terminate a running task on its worker; it ends REVOKED (needs control_worker)",
                {
                    "200": _json(object_schema({"reply": ref("ControlReply")})),
                    "404": _NOT_FOUND,
                    "409": _error("Not running, its worker is gone, or the worker refused"),
                    "504": _error("The worker did not reply in time"),
                },
                parameters=task_id,
            )
        },
        "/task-types/": {
            "get": _operation(
                "The registered task types",
                {"200": _json(object_schema({"task_types": list_of("TaskType")}))},
            )
        },
        "/schedules/": {
            "get": _operation(
                "Every schedule, soonest due first",
                {"200": _json(object_schema({"schedules": list_of("Schedule")}))},
            ),
            "post": _operation(
                "Create a schedule (needs add_scheduledtask)",
                {"201": _json(ref("Schedule"), "Created"), "409": _error("The name is taken")},
                body="ScheduleDefinition",
                write=True,
            ),
        },
        "/schedules/{schedule_id}/": {
            "get": _operation(
                "One schedule", {"200": schedule_out, "404": _NOT_FOUND}, parameters=schedule_id
            ),
            "put": change("Replace a schedule's definition (needs change_scheduledtask)"),
            "patch": change("Change the fields given (needs change_scheduledtask)"),
            "delete": _operation(
                "Delete a schedule (needs delete_scheduledtask)",
                {
                    "200": _json(
                        object_schema({"id": {"type": "string"}, "deleted": {"type": "boolean"}})
                    ),
                    "404": _NOT_FOUND,
                },
                parameters=schedule_id,
            ),
        },
        "/schedules/{schedule_id}/enable/": action(
            "Enable (needs change_scheduledtask)", {"200": schedule_out}, schedule_id
        ),
        "/schedules/{schedule_id}/disable/": action(
            "Disable (needs change_scheduledtask)", {"200": schedule_out}, schedule_id
        ),
        "/schedules/{schedule_id}/run/": action(
            "Submit the schedule's task now (needs change_scheduledtask)",
            {
                "201": _json(
                    object_schema(
                        {"schedule_id": {"type": "string"}, "task_id": {"type": "string"}}
                    ),
                    "Submitted",
                )
            },
            schedule_id,
        ),
        "/workers/": {
            "get": _operation(
                "Workers seen lately, online first",
                {
                    "200": _json(
                        object_schema(
                            {
                                "workers": list_of("Worker"),
                                "online": {"type": "integer"},
                                "retention": {"type": "number"},
                            }
                        )
                    )
                },
            )
        },
        "/workers/{worker_id}/": {
            "get": _operation(
                "One worker, its active tasks and recent results",
                {
                    "200": _json(
                        object_schema(
                            {
                                "id": {"type": "string"},
                                "worker": {"oneOf": [ref("Worker"), {"type": "null"}]},
                                "active": {
                                    "type": "array",
                                    "items": object_schema(
                                        {
                                            "task_id": {"type": "string"},
                                            "running_for": NULLABLE_NUMBER,
                                            "task_name": NULLABLE_STRING,
                                        }
                                    ),
                                },
                                "recent": list_of("TaskSummary"),
                            }
                        )
                    ),
                    "404": _NOT_FOUND,
                },
                parameters=[_path_param("worker_id")],
            )
        },
        "/workers/{worker_id}/control/": {
            "post": _operation(
                "Send a remote-control command and wait for the worker's reply "
                "(needs control_worker)",
                {
                    "200": _json(object_schema({"reply": ref("ControlReply")})),
                    "409": _error(
                        "The worker refused (``reply`` says why), or the broker "
                        "has no remote control"
                    ),
                    "404": _error("No online worker with this id"),
                    "504": _error("The worker did not reply in time"),
                },
                body="ControlCommand",
                parameters=[_path_param("worker_id")],
                write=True,
            )
        },
        "/queues/": {
            "get": _operation(
                "Queues per priority, delayed messages and dead letters",
                {
                    "200": _json(
                        object_schema(
                            {
                                "queues": list_of("Queue"),
                                "scheduled_count": {"type": "integer"},
                                "dead_letters": {
                                    "type": ["array", "null"],
                                    "items": ref("DeadLetter"),
                                },
                            }
                        )
                    )
                },
            )
        },
        "/queues/dead/{letter_id}/requeue/": action(
            "Put a dead letter back on its queue (needs change_taskresult)",
            {"200": _json(_DEAD_LETTER_DONE)},
            letter_id,
        ),
        "/queues/dead/{letter_id}/delete/": action(
            "Delete a dead letter (needs change_taskresult)",
            {"200": _json(_DEAD_LETTER_DONE)},
            letter_id,
        ),
        "/stats/": {
            "get": _operation(
                "Counts of the last day, workers online, queues",
                {
                    "200": _json(
                        object_schema(
                            {
                                "tasks": ref("Counts"),
                                "counts_since": {"type": "string", "format": "date-time"},
                                "workers_online": {"type": "integer"},
                                "queues": list_of("Queue"),
                                "scheduled_count": {"type": "integer"},
                                "registered_tasks": {"type": "integer"},
                                "broker": {"type": "string"},
                                "backend": {"type": "string"},
                            }
                        )
                    )
                },
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Flowrra API",
            "version": "1",
            "description": "Tasks, schedules, workers and queues of a Flowrra deployment. "
            + access,
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                **(
                    {"session": {"type": "apiKey", "in": "cookie", "name": "sessionid"}}
                    if session
                    else {}
                ),
            },
        },
        "security": [{"bearer": []}, *([{"session": []}] if session else [])],
    }
