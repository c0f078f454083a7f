"""The schemas of the API's OpenAPI document: what each endpoint sends and accepts.

The paths that use them are in :mod:`flowrra.ui.openapi`.
"""

from __future__ import annotations

from typing import Any

from flowrra.control import COMMANDS
from flowrra.task import TaskStatus

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}


def ref(name: str) -> dict[str, str]:
    """A reference to the schema ``name`` of :data:`SCHEMAS`."""
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(name: str) -> dict[str, Any]:
    """A JSON array of the schema ``name``."""
    return {"type": "array", "items": ref(name)}


def object_schema(
    required: dict[str, Any], optional: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON object with the ``required`` properties and the ``optional`` ones."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


_TASK_FIELDS = {
    "task_id": {"type": "string"},
    "status": {"type": "string", "enum": [status.value for status in TaskStatus]},
    "task_name": NULLABLE_STRING,
    "result": {},
    "error": NULLABLE_STRING,
    "error_type": NULLABLE_STRING,
    "submitted_at": NULLABLE_TIME,
    "started_at": NULLABLE_TIME,
    "finished_at": NULLABLE_TIME,
    "runtime": NULLABLE_NUMBER,
    "retries": {"type": "integer"},
    "args": {"type": "array"},
    "kwargs": {"type": "object"},
    "queue": NULLABLE_STRING,
    "priority": NULLABLE_INT,
    "worker": NULLABLE_STRING,
}
_SCHEDULE_DEFINITION = {
    "name": NULLABLE_STRING,
    "task_name": {"type": "string"},
    "schedule_type": {"type": "string", "enum": ["cron", "interval", "once"]},
    "schedule": {"type": ["string", "number"]},
    "timezone": {"type": "string"},
    "args": {"type": "array"},
    "kwargs": {"type": "object"},
    "queue": NULLABLE_STRING,
    "priority": NULLABLE_INT,
    "max_retries": NULLABLE_INT,
    "retry_delay": NULLABLE_NUMBER,
    "missed_policy": {"type": "string", "enum": ["run_once", "skip"]},
    "description": NULLABLE_STRING,
    "enabled": {"type": "boolean"},
}
_LEVEL = object_schema(
    {
        "queue": {"type": "string"},
        "priority": NULLABLE_INT,
        "ready": {"type": "integer"},
        "delayed": NULLABLE_INT,
        "held": NULLABLE_INT,
    }
)
_QUEUE = object_schema(
    {
        "queue": {"type": "string"},
        "ready": {"type": "integer"},
        "delayed": NULLABLE_INT,
        "held": NULLABLE_INT,
        "workers": {"type": "array", "items": {"type": "string"}},
        "levels": list_of("QueueLevel"),
    }
)
_WORKER = object_schema(
    {
        "id": {"type": "string"},
        "hostname": {"type": "string"},
        "pid": NULLABLE_INT,
        "queues": {"type": "array", "items": {"type": "string"}},
        "concurrency": {"type": "object", "additionalProperties": {"type": "integer"}},
        "prefetch": NULLABLE_INT,
        "processed": {"type": "integer"},
        "succeeded": {"type": "integer"},
        "failed": {"type": "integer"},
        "retried": {"type": "integer"},
        "active": {"type": "array", "items": {"type": "string"}},
        "started_at": NULLABLE_TIME,
        "last_seen": NULLABLE_TIME,
        "expires_at": NULLABLE_TIME,
        "online": {"type": "boolean"},
        "broker": {"type": "string"},
        "extra": {"type": "object"},
        "paused": {"type": "array", "items": {"type": "string"}},
        "uptime": NULLABLE_NUMBER,
    }
)
_COUNTS = object_schema(
    {"total": {"type": "integer"}} | {s.value: {"type": "integer"} for s in TaskStatus}
)

SCHEMAS: dict[str, Any] = {
    "Error": object_schema(
        {"error": {"type": "string"}, "status": {"type": "integer"}},
        {"fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    ),
    "Task": object_schema({**_TASK_FIELDS, "traceback": NULLABLE_STRING}),
    "TaskSummary": object_schema(_TASK_FIELDS),
    "TaskPage": object_schema(
        {
            "tasks": list_of("TaskSummary"),
            "next_cursor": NULLABLE_STRING,
            "search_limited": {"type": "boolean"},
        }
    ),
    "TaskDetail": object_schema(
        {
            "task": ref("Task"),
            "retry_of": NULLABLE_STRING,
            "retried_as": {"type": "array", "items": {"type": "string"}},
            "registered": {"type": "boolean"},
            "can_revoke": {"type": "boolean"},
        }
    ),
    "Submission": {
        **object_schema(
            {"task": {"type": "string", "description": "a registered task's name"}},
            {
                "args": {"type": "array"},
                "kwargs": {"type": "object"},
                "queue": {"type": "string"},
                "priority": {"type": "integer"},
                "countdown": {"type": "number", "minimum": 0},
                "eta": {"type": "string", "format": "date-time"},
            },
        ),
        "additionalProperties": False,
    },
    "Submitted": object_schema(
        {"task_id": {"type": "string"}, "url": {"type": "string"}},
        {"retry_of": {"type": "string"}},
    ),
    "Revoked": object_schema({"task_id": {"type": "string"}, "revoked": {"type": "boolean"}}),
    "TaskType": object_schema(
        {
            "name": {"type": "string"},
            "module": {"type": "string"},
            "function": {"type": "string"},
            "cpu_bound": {"type": "boolean"},
            "executor": {"type": "string", "enum": ["io", "cpu"]},
            "max_retries": {"type": "integer"},
            "retry_delay": {"type": "number"},
            "priority": NULLABLE_INT,
            "queue": {"type": "string"},
            "timeout": NULLABLE_NUMBER,
            "doc": {"type": "string"},
        }
    ),
    "ScheduleDefinition": {
        "type": "object",
        "properties": _SCHEDULE_DEFINITION,
        "additionalProperties": False,
    },
    "Schedule": object_schema(
        {
            "id": {"type": "string"},
            **_SCHEDULE_DEFINITION,
            "last_run_at": NULLABLE_TIME,
            "next_run_at": NULLABLE_TIME,
            "created_at": NULLABLE_TIME,
            "updated_at": NULLABLE_TIME,
            "total_run_count": {"type": "integer"},
        }
    ),
    "QueueLevel": _LEVEL,
    "Queue": _QUEUE,
    "DeadLetter": object_schema(
        {
            "id": {"type": "string"},
            "reason": {"type": "string"},
            "queue": {"type": "string"},
            "priority": NULLABLE_INT,
            "at": NULLABLE_NUMBER,
            "message": {"type": "string"},
        }
    ),
    "Worker": _WORKER,
    "Counts": _COUNTS,
    "ControlCommand": {
        **object_schema(
            {"command": {"type": "string", "enum": list(COMMANDS)}},
            {
                "args": {
                    "type": "object",
                    "description": "queue (pause, resume), value (io_concurrency), task_id "
                    "(terminate)",
                },
                "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
            },
        ),
        "additionalProperties": False,
    },
    "ControlReply": object_schema(
        {
            "id": NULLABLE_STRING,
            "worker": {"type": "string"},
            "command": {"type": "string"},
            "ok": {"type": "boolean"},
            "message": {"type": "string"},
            "at": {"type": "number"},
        }
    ),
}
