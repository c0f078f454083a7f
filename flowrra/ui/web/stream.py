"""The live websocket of the FastAPI and Quart dashboards: the Django consumer's messages
(:mod:`flowrra.ui.live`) from two sources, so a page sees tasks that any process runs.

* this process's :class:`~flowrra.events.EventBus` (tasks submitted or run here, at once);
* a :class:`ResultWatcher` that, while a page is open, looks at the result store and the
  workers' heartbeats every ``poll_seconds`` (workers in other processes and hosts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ...backends.query import ResultQuery
from ...task import TaskStatus
from ..live import (
    SUBSCRIBE_HELP,
    Outbox,
    Watcher,
    parse_subscription,
    query_subscription,
    slim_event,
    slim_task,
)
from ..serialize import json_default
from ..workers import WorkerView

if TYPE_CHECKING:
    from .site import Dashboard

SendText = Callable[[str], Awaitable[None]]
ReceiveText = Callable[[], Awaitable[str | bytes]]

#: Newest results one look reads, and the running or retrying ones at most; more changes
#: than that at once and pages are told to reload (``resync``).
LOOK_LIMIT = 200


def _state(task: dict[str, Any]) -> tuple[Any, ...]:
    return (
        task["status"],
        task["started_at"],
        task["finished_at"],
        task["retries"],
        task["worker"],
    )


class ResultWatcher(Watcher):
    """Looks at the app's result store and heartbeats while pages are open."""

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(dashboard.poll_seconds)
        self.dashboard = dashboard
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._beats: dict[str, Any] = {}
        self._primed = False

    def reset(self) -> None:
        self._seen.clear()
        self._beats.clear()
        self._primed = False

    async def changes(self) -> list[dict[str, Any]]:
        """The ``task.update`` and ``worker.*`` events since the last look."""
        ui = self.dashboard.ui
        newest = await ui.backend.query(ResultQuery(limit=LOOK_LIMIT))
        active = await ui.backend.query(
            ResultQuery(
                statuses=frozenset({TaskStatus.RUNNING, TaskStatus.RETRYING}), limit=LOOK_LIMIT
            )
        )
        results = [*newest.results, *active.results]
        events: list[dict[str, Any]] = []
        seen = {}
        for result in results:
            task = slim_task(result.to_dict)
            seen[result.task_id] = state = _state(task)
            if self._seen.get(result.task_id) != state:
                events.append({"type": "task.update", "task": task})
        self._seen = seen
        online = {worker.id: worker for worker in await ui.workers() if worker.online}
        for worker_id, worker in online.items():
            if self._beats.get(worker_id) != worker.last_seen:
                kind = "worker.heartbeat" if worker_id in self._beats else "worker.online"
                events.append({"type": kind, "worker": _worker(worker)})
        events += [
            {"type": "worker.offline", "worker": {"id": worker_id}}
            for worker_id in self._beats.keys() - online.keys()
        ]
        self._beats = {worker_id: worker.last_seen for worker_id, worker in online.items()}
        first, self._primed = not self._primed, True
        if first:
            return []
        return [{"type": "resync"}] if len(events) > 2 * LOOK_LIMIT else events


def _worker(worker: WorkerView) -> dict[str, Any]:
    return {
        "id": worker.id,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "last_heartbeat": worker.last_seen,
        "queues": list(worker.queues),
        "processed": worker.processed,
        "failed": worker.failed,
    }


async def serve_websocket(
    dashboard: Dashboard, query_string: str, send_text: SendText, receive_text: ReceiveText
) -> None:
    """One accepted connection until the client leaves: ``hello`` first, then the events
    it subscribes to (``?task=<id>``, ``?worker=<id>``, or a ``{"subscribe": ...}``
    message), coalesced by an :class:`~flowrra.ui.live.Outbox`. The adapter has accepted
    the connection; it ends when ``receive_text`` raises (the client left)."""
    await dashboard.ensure_started()
    outbox = Outbox()
    outbox.subscribe(query_subscription(parse_qs(query_string)))

    async def send(message: dict[str, Any]) -> None:
        await send_text(json.dumps(message, default=json_default))

    async def from_bus(event: dict[str, Any]) -> None:
        slim = slim_event(event)
        if slim is not None:
            outbox.deliver([slim])

    dashboard.app.events.subscribe(from_bus)
    dashboard.watcher.add(outbox.deliver)
    sender = asyncio.get_running_loop().create_task(outbox.send_forever(send))
    try:
        await send({"type": "hello", "mode": "poll", "subscription": outbox.subscription})
        while True:
            try:
                content = json.loads(await receive_text())
            except ValueError:
                content = None
            subscription = (
                parse_subscription(content.get("subscribe")) if isinstance(content, dict) else None
            )
            if subscription is None:
                await send({"type": "error", "error": SUBSCRIBE_HELP})
                continue
            outbox.subscribe(subscription)
            await send({"type": "subscribed", "subscription": subscription})
    finally:
        dashboard.watcher.remove(outbox.deliver)
        await dashboard.app.events.unsubscribe(from_bus)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
