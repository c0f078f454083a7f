"""EventBus: in-process fan-out of task and worker events.

Every event is a JSON-ready dict with a ``type``. The one the dashboard lives on is::

    {"type": "task.update", "task": TaskResult.to_dict}

emitted at every state change (pending, running, retrying, success, failed, revoked) in that
order for each task. Workers add ``worker.online``, ``worker.heartbeat`` and ``worker.offline``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .task import TaskResult

logger = logging.getLogger(__name__)

Event = dict[str, Any]
Subscriber = Callable[[Event], Awaitable[None] | None]

TASK_UPDATE = "task.update"


def task_update(result: TaskResult) -> Event:
    """The ``task.update`` event for ``result``."""
    return {"type": TASK_UPDATE, "task": result.to_dict}


class EventBus:
    """Delivers each event to every subscriber, in subscription order.

    Subscribers may be async or plain callables. One that raises is logged and skipped; the
    others and the emitter go on. Subscribers run inline, so a slow consumer should hand the
    event to a queue of its own (the Channels bridge does).
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, fn: Subscriber) -> None:
        """Add ``fn``; adding the same callable twice has no effect."""
        if not callable(fn):
            raise TypeError(f"subscriber must be callable, got {fn!r}")
        if fn not in self._subscribers:
            self._subscribers = [*self._subscribers, fn]

    async def async_subscribe(self, fn: Subscriber) -> None:
        """:meth:`subscribe`, for callers that prefer to await."""
        self.subscribe(fn)

    async def unsubscribe(self, fn: Subscriber) -> None:
        """Remove ``fn``; removing one that is not subscribed has no effect."""
        self._subscribers = [s for s in self._subscribers if s is not fn and s != fn]

    async def emit(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber, isolating their failures."""
        for fn in self._subscribers:
            try:
                outcome = fn(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                logger.exception("Event subscriber %r failed on %s", fn, event.get("type"))


#: The process-wide bus of Flowrra's first API: ``flowrra_django`` makes its app emit here, so
#: code that subscribes to it (as the first Django consumer did) sees the project's events.
event_bus = EventBus()
