"""The JSON shapes of the API: results, workers, queues and dead letters as plain dicts.

Datetimes stay datetimes (the adapter's encoder writes ISO 8601); errors and tracebacks
have URLs masked as on the pages, since they may quote a connection string.
"""

from __future__ import annotations

import dataclasses
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
