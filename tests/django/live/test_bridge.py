"""The project's app emits on the seed's ``flowrra.events.event_bus``, bridged when it should be."""

from __future__ import annotations

from typing import Any

from flowrra import Config
from flowrra.events import event_bus
from flowrra_django import runtime
from flowrra_django.bridge import EventBridge, attach

from .conftest import IN_MEMORY

REDIS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {}}}


def bridges() -> list[Any]:
    return [s for s in event_bus._subscribers if isinstance(s, EventBridge)]


def test_the_project_app_emits_on_the_module_level_event_bus(live_settings) -> None:
    live_settings(IN_MEMORY)
    app = runtime._new_app(Config())
    assert app.events is event_bus


async def test_a_channel_layer_across_processes_attaches_one_bridge(live_settings) -> None:
    live_settings(REDIS)
    assert not bridges()
    try:
        app = runtime._new_app(Config())
        again = runtime._new_app(Config())
        assert attach(app) is attach(again) is not None
        assert len(bridges()) == 1
    finally:
        for bridge in bridges():  # later tests' apps must not send to this layer
            await event_bus.unsubscribe(bridge)


def test_the_database_path_attaches_no_bridge(live_settings) -> None:
    live_settings(IN_MEMORY)
    assert attach(runtime._new_app(Config())) is None
