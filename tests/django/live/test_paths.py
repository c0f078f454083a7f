"""The two paths of live updates: channels_redis across processes, and the database watcher."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.utils import timezone

from flowrra_django import live
from flowrra_django.bridge import MESSAGE_TYPE
from flowrra_django.models import TaskResult, WorkerHeartbeat
from flowrra_django.watcher import watcher

from .conftest import IN_MEMORY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    os.environ.get("FLOWRRA_TEST_DB", "sqlite") != "sqlite",
    reason="it checks channels_redis, the same on every database: it runs in the SQLite pass",
)
async def test_an_idle_redis_connection_still_receives_events_after_5_seconds(
    staff: User, connect, live_settings, redis_layer: dict[str, Any]
) -> None:
    """channels_redis 4.3 with redis-py 8 dropped consumers idle for 5 s (issue 422)."""
    live_settings(redis_layer)
    communicator, hello = await connect(staff)
    assert hello["mode"] == "channels"
    assert await communicator.receive_nothing(timeout=6.5)
    event = {"type": "task.update", "task": {"task_id": "late", "status": "success"}}
    await get_channel_layer().group_send(live.GROUP, {"type": MESSAGE_TYPE, "events": [event]})
    assert await communicator.receive_json_from(timeout=5) == event


async def _primed() -> None:
    """Wait for the end of the watcher's first look, which primes it: rows written before
    it are its starting point, rows written after it are changes."""
    async with asyncio.timeout(5):
        await watcher().next_look()


async def _next_task_update(communicator: Any, timeout: float = 5) -> dict[str, Any]:
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        if event["type"] == "task.update":
            return event["task"]


async def test_without_redis_changes_in_the_results_table_reach_the_page(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY)
    communicator, hello = await connect(staff)
    assert hello["mode"] == "poll"
    await _primed()
    now = timezone.now()
    row = await sync_to_async(TaskResult.objects.create)(
        task_id="from-elsewhere", task_name="shop.tasks.add", status="pending", submitted_at=now
    )
    task = await _next_task_update(communicator)
    assert (task["task_id"], task["status"]) == ("from-elsewhere", "pending")
    row.status, row.started_at, row.finished_at = "success", now, timezone.now()
    await sync_to_async(row.save)()
    task = await _next_task_update(communicator)
    assert (task["task_id"], task["status"]) == ("from-elsewhere", "success")


async def test_without_redis_a_new_worker_heartbeat_reaches_the_workers_page(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="poll")
    communicator, _ = await connect(staff, "?worker=w-9")
    await _primed()
    now = timezone.now()
    await sync_to_async(WorkerHeartbeat.objects.create)(
        worker_id="w-9",
        info={"hostname": "h"},
        last_seen=now,
        expires_at=now + timezone.timedelta(seconds=30),
    )
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "worker.online" and event["worker"]["id"] == "w-9"


async def test_without_redis_a_large_backlog_of_waiting_tasks_costs_no_resync(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY)
    long_ago = timezone.now() - timezone.timedelta(minutes=10)
    await sync_to_async(TaskResult.objects.bulk_create)(
        TaskResult(task_id=f"waiting-{n}", task_name="t", status="pending", submitted_at=long_ago)
        for n in range(600)
    )
    communicator, _ = await connect(staff)
    await _primed()
    await sync_to_async(TaskResult.objects.create)(
        task_id="new", task_name="t", status="pending", submitted_at=timezone.now()
    )
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "task.update" and event["task"]["task_id"] == "new"
