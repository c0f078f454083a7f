"""The live dashboard's websocket: ``FlowrraConsumer`` at ``flowrra/ws``.

Mount it in the project's ``asgi.py`` (see :mod:`flowrra_django.asgi`)::

    URLRouter(flowrra_django.consumers.websocket_urlpatterns)

Only active staff users (with ``FLOWRRA["DASHBOARD_PERMISSION"]`` when set) may connect:
anonymous users are closed with code 4401, other users with 4403. A connection follows all
tasks and workers, or one task (``?task=<id>``) or one worker (``?worker=<id>``); a message
``{"subscribe": {"task": "<id>"}}`` (or ``{"worker": ...}``, or ``"all"``) changes that.

Each message to the client is one event, as in Flowrra's first API::

    {"type": "task.update", "task": {"task_id": ..., "status": "success", ...}}
    {"type": "worker.heartbeat", "worker": {"id": ..., ...}}
    {"type": "resync"}  # too many changes at once: reload what you show

plus ``{"type": "hello", "mode": "channels" | "poll"}`` first. When several events wait at
once they go as one message, ``{"type": "batch", "events": [...]}`` (a frame per event costs
daphne more than the event itself). Events wait in a per-connection
outbox that keeps only the latest state of each task and holds at most :data:`OUTBOX_LIMIT`
of them, so a slow client loses intermediate states (or gets a ``resync``), and the server
keeps no growing backlog for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import path

from . import live
from .conf import flowrra_settings

logger = logging.getLogger(__name__)

#: Close codes: not logged in; logged in without access to the dashboard.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
#: Distinct tasks and workers waiting to be sent to one connection, at most.
OUTBOX_LIMIT = 5000
#: Events sent to one connection per :data:`SEND_GAP` seconds, at most.
SEND_BATCH = 1000
SEND_GAP = 0.05

Subscription = tuple[str, str | None]


def _access(user: Any) -> int | None:
    """None when ``user`` may watch the dashboard, else the close code."""
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    if not (user.is_active and user.is_staff):
        return CLOSE_FORBIDDEN
    required = flowrra_settings()["DASHBOARD_PERMISSION"]
    if required and not user.has_perm(required):
        return CLOSE_FORBIDDEN
    return None


def parse_subscription(value: Any) -> Subscription | None:
    """``"all"``, ``{"task": id}`` or ``{"worker": id}`` as a subscription; else None."""
    if value in ("all", None, {}):
        return ("all", None)
    if isinstance(value, dict) and len(value) == 1:
        ((kind, ident),) = value.items()
        if kind in ("task", "worker") and isinstance(ident, str) and 0 < len(ident) <= 255:
            return (kind, ident)
    return None


def wants(subscription: Subscription, event: dict[str, Any]) -> bool:
    """Whether a connection with ``subscription`` receives ``event``."""
    kind, ident = subscription
    if kind == "all" or event["type"] == "resync":
        return True
    if event["type"] == "task.update":
        task = event["task"]
        return task["task_id"] == ident if kind == "task" else task.get("worker") == ident
    return kind == "worker" and event.get("worker", {}).get("id") == ident


class FlowrraConsumer(AsyncJsonWebsocketConsumer):
    """Streams task and worker events to a staff user's dashboard page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscription: Subscription = ("all", None)
        self.mode: live.Mode = "off"
        self.outbox: dict[tuple[str, str], dict[str, Any]] = {}
        self.dropped = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        refused = await database_sync_to_async(_access)(self.scope.get("user"))
        if refused is not None:
            await self.close(code=refused)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        for kind in ("task", "worker"):
            if query.get(kind):
                self.subscription = parse_subscription({kind: query[kind][0]}) or ("all", None)
        self.mode = live.mode()
        if self.mode == "channels":
            if self.channel_layer is None:
                logger.error("FLOWRRA['LIVE_UPDATES'] is 'channels' but CHANNEL_LAYERS is unset")
                await self.close(code=1011)
                return
            await self.channel_layer.group_add(live.GROUP, self.channel_name)
        elif self.mode == "poll":
            from .watcher import watcher

            watcher().add(self.deliver)
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())
        await self.send_json(
            {"type": "hello", "mode": self.mode, "subscription": self.subscription}
        )

    async def disconnect(self, code: int) -> None:
        if self.mode == "channels" and self.channel_layer is not None:
            await self.channel_layer.group_discard(live.GROUP, self.channel_name)
        elif self.mode == "poll":
            from .watcher import watcher

            watcher().remove(self.deliver)
        if self._sender is not None:
            self._sender.cancel()
        self.outbox.clear()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self._sender is None:  # not admitted (being closed)
            return
        subscription = (
            parse_subscription(content.get("subscribe")) if isinstance(content, dict) else None
        )
        if subscription is None:
            await self.send_json(
                {
                    "type": "error",
                    "error": 'send {"subscribe": "all" | {"task": id} | {"worker": id}}',
                }
            )
            return
        self.subscription = subscription
        self.outbox.clear()
        await self.send_json({"type": "subscribed", "subscription": subscription})

    async def flowrra_events(self, message: dict[str, Any]) -> None:
        """A batch from the bridge (the channel layer group)."""
        self.deliver(message.get("events") or [])

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Put the events this connection wants in its outbox, latest state per key."""
        for event in events:
            if not wants(self.subscription, event):
                continue
            key = live.event_key(event)
            if self.outbox.pop(key, None) is not None:
                self.dropped += 1  # an intermediate state the client will not see
            elif len(self.outbox) >= OUTBOX_LIMIT:
                self.dropped += len(self.outbox)
                self.outbox.clear()
                key, event = ("other", "resync"), {"type": "resync"}
            self.outbox[key] = event
        if self.outbox:
            self._wake.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.outbox:
                keys = list(self.outbox)[:SEND_BATCH]
                events = [self.outbox.pop(key) for key in keys]
                if len(events) == 1:
                    await self.send_json(events[0])
                else:
                    await self.send_json({"type": "batch", "events": events})
                if len(keys) == SEND_BATCH:  # a burst: let the outbox coalesce a while
                    await asyncio.sleep(SEND_GAP)


# Channels routes ASGI applications with Django's path(), which django-stubs types for views.
websocket_urlpatterns = [path("flowrra/ws", FlowrraConsumer.as_asgi())]  # type: ignore[arg-type]
