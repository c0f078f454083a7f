"""Fixtures for the live dashboard's tests: users, a connected websocket, a Redis layer."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.test import override_settings

from flowrra_django.asgi import redis_channel_layer
from flowrra_django.consumers import FlowrraConsumer
from tests.services import unavailable

REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Connect = Callable[..., Any]


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("staff", password="pw", is_staff=True)


@pytest.fixture
def live_settings() -> Iterator[Callable[..., None]]:
    """Override CHANNEL_LAYERS and FLOWRRA for the test; the layer is built afresh."""
    overrides: list[Any] = []

    def apply(layers: dict[str, Any], **flowrra: Any) -> None:
        override = override_settings(CHANNEL_LAYERS=layers, FLOWRRA=flowrra)
        override.enable()
        overrides.append(override)
        channel_layers.backends.clear()

    yield apply
    for override in reversed(overrides):
        override.disable()
    channel_layers.backends.clear()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open a websocket to the consumer as ``user`` (None: anonymous); closed at the end."""
    opened: list[WebsocketCommunicator] = []

    async def open_(user: User | None, query: str = "") -> tuple[WebsocketCommunicator, Any]:
        communicator = WebsocketCommunicator(FlowrraConsumer.as_asgi(), f"/flowrra/ws{query}")
        communicator.scope["user"] = user or AnonymousUser()
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        first = await communicator.receive_output(timeout=5)
        if first["type"] == "websocket.send":
            return communicator, json.loads(first["text"])
        return communicator, first  # websocket.close

    yield open_
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def redis_layer() -> Iterator[dict[str, Any]]:
    """A channels_redis layer on the test Redis under a key prefix of this test's own."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start Redis")
    prefix = f"flowrra-live-{secrets.token_hex(4)}"
    yield {"default": redis_channel_layer(REDIS_URL, prefix=prefix)}
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


async def create_user(**fields: Any) -> User:
    return await sync_to_async(User.objects.create_user)(**fields)
