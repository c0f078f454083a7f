"""The bridge: a process's task and worker events, coalesced, to the channel layer group.

Every process that runs tasks (``flowrra_worker``, ``flowrra_beat``, a web process that
submits or runs tasks in-process) attaches one :class:`EventBridge` to its app's
:class:`~flowrra.events.EventBus`. Events are kept per task (or worker), the latest state
replacing earlier ones, and sent as one group message per interval: at 10,000 tasks a second
a worker sends a few messages a second, not tens of thousands.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from flowrra import EventBus, Flowrra

from . import live

logger = logging.getLogger(__name__)

#: The group message type; consumers handle it in ``flowrra_events``.
MESSAGE_TYPE = "flowrra.events"
#: Events per group message at most (a message of channels_redis stays well below 1 MB).
BATCH_LIMIT = 2000


class EventBridge:
    """Coalesces events and sends them to :data:`.live.GROUP` at most once per ``interval``.

    The first event after a quiet interval goes at once (a lone task shows without delay);
    during a burst, what arrives within an interval goes at its end, latest state per key.
    """

    def __init__(self, interval: float, layer: Any = None) -> None:
        self.interval = interval
        self._layer = layer
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None
        self._last_send = 0.0
        self.sent_messages = 0
        self.sent_events = 0

    @property
    def layer(self) -> Any:
        if self._layer is None:
            from channels.layers import get_channel_layer

            self._layer = get_channel_layer()
        return self._layer

    async def __call__(self, event: dict[str, Any]) -> None:
        slim = live.slim_event(event)
        if slim is None:
            return
        self._pending[live.event_key(slim)] = slim
        if slim["type"] == "worker.offline":  # the process is stopping: do not wait
            await self.flush()
        elif self._flusher is None or self._flusher.done() or not self._on_this_loop():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    def _on_this_loop(self) -> bool:
        # a forked child, or a worker command run again in one process, has a new loop
        assert self._flusher is not None
        return self._flusher.get_loop() is asyncio.get_running_loop()

    async def _flush_later(self) -> None:
        delay = self._last_send + self.interval - time.monotonic()
        await asyncio.sleep(max(delay, 0.0))
        await self.flush()

    async def flush(self) -> None:
        """Send what is pending now, in messages of at most :data:`BATCH_LIMIT` events; a
        send already under way (the interval's) is waited for first, then what came since."""
        loop = asyncio.get_running_loop()
        while True:
            sending = self._sending
            if sending is not None and not sending.done() and sending.get_loop() is loop:
                await asyncio.shield(sending)
                continue
            if not self._pending:
                return
            events = list(self._pending.values())[:BATCH_LIMIT]
            for event in events:
                del self._pending[live.event_key(event)]
            self._last_send = time.monotonic()
            self._sending = loop.create_task(self._send(events))
            await asyncio.shield(self._sending)

    async def _send(self, events: list[dict[str, Any]]) -> None:
        try:
            await self.layer.group_send(live.GROUP, {"type": MESSAGE_TYPE, "events": events})
        except Exception:  # the dashboard misses these states; the tasks go on
            logger.warning(
                "Could not send %d events to the channel layer", len(events), exc_info=True
            )
            return
        self.sent_messages += 1
        self.sent_events += len(events)


_bridges: weakref.WeakKeyDictionary[EventBus, EventBridge] = weakref.WeakKeyDictionary()


async def flush(app: Flowrra) -> None:
    """Send what ``app``'s bridge holds now: a process that submits and exits (a script, a
    shell) calls it before it stops, or its last events would be lost."""
    bridge = _bridges.get(app.events)
    if bridge is not None:
        await bridge.flush()


def attach(app: Flowrra) -> EventBridge | None:
    """Subscribe a bridge to ``app.events`` (once) when live updates use the channel layer."""
    if live.mode() != "channels":
        return None
    bridge = _bridges.get(app.events)
    if bridge is None:
        bridge = _bridges[app.events] = EventBridge(live.interval())
    app.events.subscribe(bridge)  # no effect when subscribed already
    return bridge
