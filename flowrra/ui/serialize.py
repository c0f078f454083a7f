"""The JSON shapes of the API: results, workers, queues and dead letters as plain dicts.

Datetimes stay datetimes (the adapter's encoder writes ISO 8601); errors and tracebacks
have URLs masked as on the pages, since they may quote a connection string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..brokers.stats import DeadLetter
from ..task import TaskResult
from .formatter import mask_urls
from .workers import WorkerView


def task_json(result: TaskResult) -> dict[str, Any]:
    """One result as the API returns it."""
    data = result.to_dict
    data["error"] = mask_urls(result.error) if result.error else result.error
    data["traceback"] = mask_urls(result.traceback) if result.traceback else result.traceback
    return data


def worker_json(worker: WorkerView) -> dict[str, Any]:
    """One worker from its heartbeat (``extra`` holds fields this version does not know)."""
    data = {f.name: getattr(worker, f.name) for f in dataclasses.fields(worker)}
    data["uptime"] = worker.uptime
    return data


def queue_json(entry: dict[str, Any]) -> dict[str, Any]:
    """One queue's totals with its levels per priority."""
    return {
        **{key: value for key, value in entry.items() if key != "levels"},
        "levels": [dataclasses.asdict(level) for level in entry["levels"]],
    }


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    return dataclasses.asdict(letter)


def task_summary_json(result: TaskResult) -> dict[str, Any]:
    """One result in a list: without its traceback."""
    data = task_json(result)
    data.pop("traceback")
    return data


def tasks_page_json(data: dict[str, Any]) -> dict[str, Any]:
    """``UIService.get_tasks_page_data`` as ``GET api/tasks/`` answers it."""
    return {
        "tasks": [task_summary_json(result) for result in data["tasks"]],
        "next_cursor": data["next_cursor"],
        "search_limited": data["search_limited"],
    }


def task_detail_json(data: dict[str, Any]) -> dict[str, Any]:
    """``UIService.get_task_data`` as ``GET api/tasks/<id>/`` answers it."""
    return {**data, "task": task_json(data["task"])}


def workers_page_json(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "workers": [worker_json(worker) for worker in data["workers"]],
        "online": data["online"],
        "retention": data["retention"],
    }


def worker_detail_json(detail: dict[str, Any]) -> dict[str, Any]:
    """``UIService.get_worker_detail`` as ``GET api/workers/<id>/`` answers it."""
    worker = detail["worker"]
    return {
        "id": detail["id"],
        "worker": worker_json(worker) if worker is not None else None,
        "active": [
            {
                "task_id": task_id,
                "running_for": seconds,
                "task_name": getattr(result, "task_name", None),
            }
            for result, task_id, seconds in detail["active"]
        ],
        "recent": [task_summary_json(result) for result in detail["recent"]],
    }


def queues_page_json(data: dict[str, Any]) -> dict[str, Any]:
    """Queue totals per priority, delayed messages and dead letters (None when the broker
    keeps none)."""
    dead = data["dead_letters"]
    return {
        "queues": [queue_json(entry) for entry in data["queues"]],
        "scheduled_count": data["scheduled_count"],
        "dead_letters": None if dead is None else [dead_letter_json(d) for d in dead],
    }


def stats_json(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "queues": [queue_json(entry) for entry in data["queues"]]}


def json_default(value: Any) -> Any:
    """What ``json.dumps`` cannot write, as the Django API writes it: datetimes in ISO 8601
    to the millisecond with ``Z`` for UTC, anything else as its repr."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        if value.microsecond:
            text = text[:23] + text[26:]
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return repr(value)
