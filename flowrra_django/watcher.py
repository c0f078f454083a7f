"""The no-Redis path of live updates: what changed in the results table, pushed to consumers.

With an in-memory channel layer, events of workers in other processes never reach the web
process. Instead one :class:`DatabaseWatcher` per web process (per event loop) reads, about
once a second and only while a dashboard is open, the rows submitted or finished since its
last look (both indexed) plus the running and retrying ones, and turns each row whose state
changed into a ``task.update`` event; worker heartbeats likewise.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.db.models import Q
from django.utils import timezone

from flowrra.task import TaskStatus
from flowrra.ui.live import Watcher

from . import live
from .models import TaskResult, WorkerHeartbeat

#: Seconds between two looks at the database.
POLL_SECONDS = 0.7
#: Rows submitted or finished this long before the last look are looked at again: clocks of
#: worker hosts differ a little, and a row is written a moment after its timestamps are set.
OVERLAP = timedelta(seconds=5)
#: Changed rows one look reads at most; more, and consumers are told to reload everything.
ROW_LIMIT = 500
#: Rows in these states are looked at whatever their times (a task that starts changes no
#: indexed time). Not pending: a backlog can be large, and a new one is in the time window.
ACTIVE = (TaskStatus.RUNNING.value, TaskStatus.RETRYING.value)
FIELDS = ("id", *live.TASK_FIELDS, "error")


class DatabaseWatcher(Watcher):
    """Polls while it has listeners; each gets lists of events (``resync`` when too many)."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(poll_seconds)
        self._tasks: dict[str, tuple[Any, ...]] = {}
        self._workers: dict[str, Any] = {}
        self._since: datetime | None = None

    def reset(self) -> None:
        self._since = None

    async def changes(self) -> list[dict[str, Any]]:
        return await database_sync_to_async(self.look)()

    def look(self) -> list[dict[str, Any]]:
        """One look: the events since the previous one (none at the first, which primes)."""
        now = timezone.now()
        first = self._since is None
        since = now - OVERLAP if self._since is None else self._since - OVERLAP
        self._since = now
        rows = list(
            TaskResult.objects.filter(
                Q(submitted_at__gte=since) | Q(finished_at__gte=since) | Q(status__in=ACTIVE)
            )
            .order_by("-id")
            .values(*FIELDS)[: ROW_LIMIT + 1]
        )
        if len(rows) > ROW_LIMIT:
            self._tasks = {}
            return [{"type": "resync"}]
        events: list[dict[str, Any]] = []
        seen: dict[str, tuple[Any, ...]] = {}
        for row in reversed(rows):
            state = (row["status"], row["retries"], row["started_at"], row["finished_at"])
            seen[row["task_id"]] = state
            if not first and self._tasks.get(row["task_id"]) != state:
                events.append({"type": "task.update", "task": live.slim_task(_as_task(row))})
        self._tasks = seen
        events += self._worker_events(first)
        return events

    def _worker_events(self, first: bool) -> list[dict[str, Any]]:
        beats = {
            beat.worker_id: beat
            for beat in WorkerHeartbeat.objects.filter(expires_at__gt=timezone.now())
        }
        events = []
        if not first:
            for worker_id, beat in beats.items():
                if self._workers.get(worker_id) != beat.last_seen:
                    kind = "worker.heartbeat" if worker_id in self._workers else "worker.online"
                    events.append(live.slim_event({"type": kind, "worker": _as_worker(beat)}))
            for worker_id in self._workers.keys() - beats.keys():
                events.append({"type": "worker.offline", "worker": {"id": worker_id}})
        self._workers = {worker_id: beat.last_seen for worker_id, beat in beats.items()}
        return [event for event in events if event is not None]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _as_task(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _iso(value) for key, value in row.items() if key != "id"}


def _as_worker(beat: WorkerHeartbeat) -> dict[str, Any]:
    info = beat.info if isinstance(beat.info, dict) else {}
    return {**info, "id": beat.worker_id, "last_heartbeat": _iso(beat.last_seen)}


_watchers: dict[asyncio.AbstractEventLoop, DatabaseWatcher] = {}


def watcher() -> DatabaseWatcher:
    """The watcher of the running event loop (daphne runs one loop per process)."""
    loop = asyncio.get_running_loop()
    found = _watchers.get(loop)
    if found is None:
        for stale in [other for other in _watchers if other.is_closed()]:
            del _watchers[stale]
        found = _watchers[loop] = DatabaseWatcher()
    return found
