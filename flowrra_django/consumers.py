"""The live dashboard's websocket: ``FlowrraConsumer`` at ``flowrra/ws``.

Mount it in the project's ``asgi.py`` (see :mod:`flowrra_django.asgi`)::

    URLRouter(flowrra_django.consumers.websocket_urlpatterns)

Only active staff users (with ``FLOWRRA["DASHBOARD_PERMISSION"]`` when set) may connect:
anonymous users are closed with code 4401, other users with 4403. A connection follows all
tasks and workers, or one task (``?task=<id>``) or one worker (``?worker=<id>``); a message
``{"subscribe": {"task": "<id>"}}`` (or ``{"worker": ...}``, or ``"all"``) changes that.

Each message to the client is one event (see :mod:`flowrra.ui.live`, whose outbox
coalesces them per connection), plus ``{"type": "hello", "mode": "channels" | "poll"}`` first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import path

from flowrra.ui.live import (
    OUTBOX_LIMIT,
    SUBSCRIBE_HELP,
    Outbox,
    parse_subscription,
    query_subscription,
)

from . import live
from .conf import flowrra_settings

logger = logging.getLogger(__name__)

#: Close codes: not logged in; logged in without access to the dashboard.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


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


class FlowrraConsumer(AsyncJsonWebsocketConsumer):
    """Streams task and worker events to a staff user's dashboard page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode: live.Mode = "off"
        self.outbox = Outbox()
        self._sender: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        refused = await database_sync_to_async(_access)(self.scope.get("user"))
        if refused is not None:
            await self.close(code=refused)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.outbox.subscribe(query_subscription(query))
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
        self._sender = asyncio.get_running_loop().create_task(
            self.outbox.send_forever(self.send_json)
        )
        await self.send_json(
            {"type": "hello", "mode": self.mode, "subscription": self.outbox.subscription}
        )

    async def disconnect(self, code: int) -> None:
        if self.mode == "channels" and self.channel_layer is not None:
            await self.channel_layer.group_discard(live.GROUP, self.channel_name)
        elif self.mode == "poll":
            from .watcher import watcher

            watcher().remove(self.deliver)
        if self._sender is not None:
            self._sender.cancel()
        self.outbox.waiting.clear()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self._sender is None:  # not admitted (being closed)
            return
        subscription = (
            parse_subscription(content.get("subscribe")) if isinstance(content, dict) else None
        )
        if subscription is None:
            await self.send_json({"type": "error", "error": SUBSCRIBE_HELP})
            return
        self.outbox.subscribe(subscription)
        await self.send_json({"type": "subscribed", "subscription": subscription})

    async def flowrra_events(self, message: dict[str, Any]) -> None:
        """A batch from the bridge (the channel layer group)."""
        self.deliver(message.get("events") or [])

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Put the events this connection wants in its outbox, latest state per key."""
        self.outbox.deliver(events)


# Channels routes ASGI applications with Django's path(), which django-stubs types for views.
websocket_urlpatterns = [path("flowrra/ws", FlowrraConsumer.as_asgi())]  # type: ignore[arg-type]

__all__ = ["OUTBOX_LIMIT", "FlowrraConsumer", "websocket_urlpatterns"]
