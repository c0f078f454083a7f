"""Live dashboard events, framework-free: their shape, what a connection subscribes to, and
the per-connection outbox that coalesces them.

Each message to a browser is one event, as in Flowrra's first API::

    {"type": "task.update", "task": {"task_id": ..., "status": "success", ...}}
    {"type": "worker.heartbeat", "worker": {"id": ..., ...}}
    {"type": "resync"}  # too many changes at once: reload what you show

and several events waiting at once go as one ``{"type": "batch", "events": [...]}``. The
Django consumer (:mod:`flowrra_django.consumers`) and the FastAPI and Quart websockets
(:mod:`flowrra.ui.web.stream`) all send them through an :class:`Outbox`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

#: The fields of a task that travel with its events (results, arguments and tracebacks stay
#: in the result store: pages that show them read them there).
TASK_FIELDS = (
    "task_id",
    "status",
    "task_name",
    "error_type",
    "submitted_at",
    "started_at",
    "finished_at",
    "runtime",
    "retries",
    "queue",
    "priority",
    "worker",
)
WORKER_FIELDS = ("id", "hostname", "pid", "last_heartbeat", "queues", "processed", "failed")
#: Distinct tasks and workers waiting to be sent to one connection, at most.
OUTBOX_LIMIT = 5000
#: Events sent to one connection per :data:`SEND_GAP` seconds, at most.
SEND_BATCH = 1000
SEND_GAP = 0.05

Subscription = tuple[str, str | None]
Listener = Callable[[list[dict[str, Any]]], None]
logger = logging.getLogger(__name__)


def slim_task(task: dict[str, Any]) -> dict[str, Any]:
    """What a ``task.update`` event carries of ``TaskResult.to_dict``; errors cut short."""
    slim = {key: task.get(key) for key in TASK_FIELDS}
    error = task.get("error")
    slim["error"] = error[:300] if isinstance(error, str) else error
    return slim


def slim_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """The event as it travels to browsers, or None for events the dashboard ignores."""
    kind = event.get("type")
    if kind == "task.update" and isinstance(event.get("task"), dict):
        return {"type": kind, "task": slim_task(event["task"])}
    if (
        isinstance(kind, str)
        and kind.startswith("worker.")
        and isinstance(event.get("worker"), dict)
    ):
        worker = event["worker"]
        return {"type": kind, "worker": {key: worker.get(key) for key in WORKER_FIELDS}}
    return None


def event_key(event: dict[str, Any]) -> tuple[str, str]:
    """What successive events replace each other by: one task, or one worker."""
    if event["type"] == "task.update":
        return ("task", str(event["task"]["task_id"]))
    if event["type"].startswith("worker."):
        return ("worker", str(event["worker"]["id"]))
    return ("other", event["type"])


def parse_subscription(value: Any) -> Subscription | None:
    """``"all"``, ``{"task": id}`` or ``{"worker": id}`` as a subscription; else None."""
    if value in ("all", None, {}):
        return ("all", None)
    if isinstance(value, dict) and len(value) == 1:
        ((kind, ident),) = value.items()
        if kind in ("task", "worker") and isinstance(ident, str) and 0 < len(ident) <= 255:
            return (kind, ident)
    return None


def query_subscription(query: dict[str, list[str]]) -> Subscription:
    """The subscription of a websocket URL's ``?task=<id>`` or ``?worker=<id>``."""
    subscription: Subscription = ("all", None)
    for kind in ("task", "worker"):
        if query.get(kind):
            subscription = parse_subscription({kind: query[kind][0]}) or ("all", None)
    return subscription


def wants(subscription: Subscription, event: dict[str, Any]) -> bool:
    """Whether a connection with ``subscription`` receives ``event``."""
    kind, ident = subscription
    if kind == "all" or event["type"] == "resync":
        return True
    if event["type"] == "task.update":
        task = event["task"]
        return task["task_id"] == ident if kind == "task" else task.get("worker") == ident
    return kind == "worker" and event.get("worker", {}).get("id") == ident


SUBSCRIBE_HELP = 'send {"subscribe": "all" | {"task": id} | {"worker": id}}'


class Outbox:
    """One connection's waiting events: the latest state of each task or worker, at most
    :data:`OUTBOX_LIMIT` of them (then one ``resync``), so a slow client loses intermediate
    states and the server keeps no growing backlog for it."""

    def __init__(self) -> None:
        self.subscription: Subscription = ("all", None)
        self.waiting: dict[tuple[str, str], dict[str, Any]] = {}
        self.dropped = 0
        self._wake = asyncio.Event()

    def subscribe(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.waiting.clear()

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Keep the events this connection wants, latest state per key."""
        for event in events:
            if not wants(self.subscription, event):
                continue
            key = event_key(event)
            if self.waiting.pop(key, None) is not None:
                self.dropped += 1  # an intermediate state the client will not see
            elif len(self.waiting) >= OUTBOX_LIMIT:
                self.dropped += len(self.waiting)
                self.waiting.clear()
                key, event = ("other", "resync"), {"type": "resync"}
            self.waiting[key] = event
        if self.waiting:
            self._wake.set()

    async def send_forever(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Send what waits, a batch of at most :data:`SEND_BATCH` events per message."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.waiting:
                keys = list(self.waiting)[:SEND_BATCH]
                events = [self.waiting.pop(key) for key in keys]
                if len(events) == 1:
                    await send(events[0])
                else:
                    await send({"type": "batch", "events": events})
                if len(keys) == SEND_BATCH:  # a burst: let the outbox coalesce a while
                    await asyncio.sleep(SEND_GAP)


class Watcher(ABC):
    """Looks at a store for changes every ``poll_seconds`` while it has listeners, and hands
    each the events of each look (the Django app's results table, or any result backend:
    :class:`flowrra.ui.web.stream.ResultWatcher`)."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._looked = asyncio.Event()

    def add(self, listener: Listener) -> None:
        self._listeners.add(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    async def next_look(self) -> None:
        """Return when the look in progress, or else the next one, has ended. The watcher is
        then primed, so what is written from then on reaches the listeners: tests wait on
        this instead of on time."""
        await self._looked.wait()

    @abstractmethod
    def reset(self) -> None:
        """Forget what was seen: the next look only primes."""

    @abstractmethod
    async def changes(self) -> list[dict[str, Any]]:
        """The events since the previous look (none at the first, which primes)."""

    async def _run(self) -> None:
        self.reset()
        while self._listeners:
            try:
                events = await self.changes()
            except Exception:  # the store is down: look again next time
                logger.warning("Live updates could not read the result store", exc_info=True)
                events = []
            if events:
                for listener in list(self._listeners):
                    listener(events)
            looked, self._looked = self._looked, asyncio.Event()
            looked.set()
            await asyncio.sleep(self.poll_seconds)
