"""Schedules in a dict: for tests and single-process apps that recreate them at start-up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from ..models import ScheduledTask
from .base import BaseSchedulerBackend, Claim

_UNPLANNED = dt.datetime.min.replace(tzinfo=dt.UTC)


def _due_order(task: ScheduledTask) -> dt.datetime:
    return task.next_run_at or _UNPLANNED


class MemorySchedulerBackend(BaseSchedulerBackend):
    """Keeps schedules in this process only; hands out copies, never its own objects."""

    def __init__(self, url: str | None = None) -> None:
        self._tasks: dict[str, ScheduledTask] = {}

    async def create(self, task: ScheduledTask) -> ScheduledTask:
        if task.id in self._tasks:
            raise ValueError(f"a schedule with id {task.id!r} already exists")
        self._tasks[task.id] = dataclasses.replace(task)
        return dataclasses.replace(task)

    async def update(self, task: ScheduledTask) -> None:
        if task.id not in self._tasks:
            raise ValueError(f"no schedule with id {task.id!r}")
        self._tasks[task.id] = dataclasses.replace(task)

    async def delete(self, task_id: str) -> bool:
        return self._tasks.pop(task_id, None) is not None

    async def get(self, task_id: str) -> ScheduledTask | None:
        task = self._tasks.get(task_id)
        return None if task is None else dataclasses.replace(task)

    async def list_all(self) -> list[ScheduledTask]:
        ordered = sorted(self._tasks.values(), key=lambda t: (t.next_run_at is None, _due_order(t)))
        return [dataclasses.replace(t) for t in ordered]

    async def list_due(self, now: dt.datetime, limit: int) -> list[ScheduledTask]:
        due = [t for t in self._tasks.values() if t.enabled and _due_order(t) <= now]
        due.sort(key=_due_order)
        return [dataclasses.replace(t) for t in due[:limit]]

    async def next_due_at(self) -> dt.datetime | None:
        return min((_due_order(t) for t in self._tasks.values() if t.enabled), default=None)

    async def claim(self, claims: Sequence[Claim]) -> set[str]:
        won: set[str] = set()
        for claim in claims:
            task = self._tasks.get(claim.task_id)
            if task is not None and claim.won_by(task):
                claim.apply(task)
                won.add(claim.task_id)
        return won

    async def clear(self) -> int:
        count = len(self._tasks)
        self._tasks.clear()
        return count

    def describe(self) -> str:
        return "memory://"
