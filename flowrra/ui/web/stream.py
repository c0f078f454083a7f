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
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ...backends.query import ResultQuery
from ...task import TaskStatus
from ..live import (
    SUBSCRIBE_HELP,
    Outbox,
    parse_subscription,
    query_subscription,
    slim_event,
    slim_task,
)
from ..serialize import json_default

if TYPE_CHECKING:
    from .site import Dashboard

logger = logging.getLogger(__name__)
Listener = Callable[[list[dict[str, Any]]], None]
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


class ResultWatcher:
    """Polls the app's result store and heartbeats while it has listeners."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self._listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._beats: dict[str, Any] = {}

    def add(self, listener: Listener) -> None:
        self._listeners.add(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        if not self._listeners and self._task is not None:
            self._task.cancel()
            self._task = None
            self._seen.clear()
            self._beats.clear()

    async def _run(self) -> None:
        first = True
        while self._listeners:
            try:
                events = await self.look()
            except Exception:  # the store is down: try again at the next look
                logger.warning("Live updates: cannot read the result store", exc_info=True)
                events = []
            if events and not first:
                for listener in list(self._listeners):
                    listener(events)
            first = False
            await asyncio.sleep(self.dashboard.poll_seconds)

    async def look(self) -> list[dict[str, Any]]:
        """The ``task.update`` and ``worker.heartbeat`` events since the last look."""
        ui = self.dashboard.ui
        newest = await ui.backend.query(ResultQuery(limit=LOOK_LIMIT))
        active = await ui.backend.query(
            ResultQuery(
                statuses=frozenset({TaskStatus.RUNNING, TaskStatus.RETRYING}), limit=LOOK_LIMIT
            )
        )
        events: list[dict[str, Any]] = []
        for result in [*newest.results, *active.results]:
            task = slim_task(result.to_dict)
            state = _state(task)
            if self._seen.get(task["task_id"]) != state:
                self._seen[task["task_id"]] = state
                events.append({"type": "task.update", "task": task})
        if len(self._seen) > 4 * LOOK_LIMIT:  # forget what left both windows
            keep = {r.task_id for r in [*newest.results, *active.results]}
            self._seen = {key: value for key, value in self._seen.items() if key in keep}
        for worker in await ui.workers():
            if self._beats.get(worker.id) != worker.last_seen:
                self._beats[worker.id] = worker.last_seen
                events.append(
                    {
                        "type": "worker.heartbeat",
                        "worker": {
                            "id": worker.id,
                            "hostname": worker.hostname,
                            "pid": worker.pid,
                            "last_heartbeat": worker.last_seen,
                            "queues": list(worker.queues),
                            "processed": worker.processed,
                            "failed": worker.failed,
                        },
                    }
                )
        if len(events) > 2 * LOOK_LIMIT:
            return [{"type": "resync"}]
        return events


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
