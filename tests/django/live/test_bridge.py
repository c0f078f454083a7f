"""The project's app emits on the seed's ``flowrra.events.event_bus``, bridged when it should be."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from flowrra import Config
from flowrra.events import event_bus
from flowrra_django import live, runtime
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


@pytest.mark.django_db(transaction=True)
async def test_a_process_that_submits_and_stops_sends_its_last_events_first(
    live_settings, redis_layer: dict[str, Any]
) -> None:
    """A shell or script submits and exits at once: the pending state must still go out."""
    import flowrra_django

    live_settings(redis_layer)
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(live.GROUP, listener)
    bridge = attach(runtime.get_app())
    try:

        def submit_and_stop() -> str:
            try:
                task_id = flowrra_django.submit("tests.django.testapp.tasks.add", 1, 2)
                runtime.shutdown()
                return task_id
            finally:  # the submit wrote on this thread's connection, as a view's does
                connections.close_all()

        task_id = await sync_to_async(submit_and_stop, thread_sensitive=False)()
        message = await asyncio.wait_for(layer.receive(listener), 5)
    finally:
        await event_bus.unsubscribe(bridge)
    assert [(e["task"]["task_id"], e["task"]["status"]) for e in message["events"]] == [
        (task_id, "pending")
    ]
