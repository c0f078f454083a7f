"""Queues as the dashboard shows them: the broker's levels summed per queue, with the
online workers that consume each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..brokers.stats import QueueLevel
from .workers import WorkerView


def queue_totals(
    names: Iterable[str], levels: Iterable[QueueLevel], workers: Iterable[WorkerView]
) -> list[dict[str, Any]]:
    """Per queue of ``names`` and of ``levels``, by name: ``ready``, ``delayed`` and ``held``
    messages (the last two None when the broker does not say), its ``levels``, and the
    online ``workers`` that consume it (a worker on ``*`` consumes every queue)."""
    totals: dict[str, dict[str, Any]] = {name: _empty(name) for name in names}
    for level in levels:
        entry = totals.setdefault(level.queue, _empty(level.queue))
        entry["ready"] += level.ready
        for field in ("delayed", "held"):
            value = getattr(level, field)
            if value is not None:
                entry[field] = (entry[field] or 0) + value
        entry["levels"].append(level)
    consumers: dict[str, list[str]] = defaultdict(list)
    for worker in workers:
        if worker.online:
            for queue in worker.queues:
                consumers[queue].append(worker.id)
    for name, entry in totals.items():
        entry["workers"] = consumers.get(name, []) + consumers.get("*", [])
    return [totals[name] for name in sorted(totals)]


def _empty(name: str) -> dict[str, Any]:
    return {"queue": name, "ready": 0, "delayed": None, "held": None, "levels": []}
