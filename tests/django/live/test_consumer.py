"""The live dashboard's websocket consumer: access, delivery, coalescing, a bounded outbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.contrib.auth.models import User

from flowrra.events import EventBus, task_update
from flowrra.task import TaskResult, TaskStatus
from flowrra_django import live
from flowrra_django.bridge import MESSAGE_TYPE, EventBridge
from flowrra_django.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, OUTBOX_LIMIT
from tests.waiting import until

from .conftest import IN_MEMORY, create_user

pytestmark = pytest.mark.django_db(transaction=True)


def result(task_id: str, status: TaskStatus = TaskStatus.RUNNING, **fields: Any) -> TaskResult:
    return TaskResult(task_id=task_id, status=status, task_name="shop.tasks.add", **fields)


def task_event(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "task.update", "task": live.slim_task(result(task_id, **fields).to_dict)}


async def publish(events: list[dict[str, Any]]) -> None:
    """What a worker's bridge sends, sent to the group directly."""
    await get_channel_layer().group_send(live.GROUP, {"type": MESSAGE_TYPE, "events": events})


async def received(communicator: Any, count: int, timeout: float = 5) -> list[dict[str, Any]]:
    """The next ``count`` events, whether they came one a message or in batches."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        events += unbatched(await communicator.receive_json_from(timeout=timeout))
    return events


def unbatched(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message["events"] if message["type"] == "batch" else [message]


async def test_anonymous_users_are_closed_with_4401(connect, live_settings) -> None:
    live_settings(IN_MEMORY)
    _, closing = await connect(None)
    assert closing == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.mark.parametrize(
    "fields",
    [{"is_staff": False}, {"is_staff": True, "is_active": False}],
    ids=["not-staff", "inactive"],
)
async def test_users_who_may_not_see_the_dashboard_are_closed_with_4403(
    fields: dict[str, Any], live_settings
) -> None:
    from channels.testing import WebsocketCommunicator

    from flowrra_django.consumers import FlowrraConsumer

    live_settings(IN_MEMORY)
    user = await create_user(username="someone", password="pw", **fields)
    communicator = WebsocketCommunicator(FlowrraConsumer.as_asgi(), "/flowrra/ws")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_FORBIDDEN,
    }


async def test_a_missing_dashboard_permission_closes_with_4403(staff: User, live_settings) -> None:
    from channels.testing import WebsocketCommunicator

    from flowrra_django.consumers import FlowrraConsumer

    live_settings(IN_MEMORY, DASHBOARD_PERMISSION="flowrra_django.view_taskresult")
    communicator = WebsocketCommunicator(FlowrraConsumer.as_asgi(), "/flowrra/ws")
    communicator.scope["user"] = staff
    await communicator.connect()
    output = await communicator.receive_output(timeout=5)
    assert output["code"] == CLOSE_FORBIDDEN


async def test_staff_receive_the_events_a_worker_sends_through_the_bridge(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, hello = await connect(staff)
    assert hello == {"type": "hello", "mode": "channels", "subscription": ["all", None]}
    bus = EventBus()
    bus.subscribe(EventBridge(interval=0.05))
    await bus.emit(task_update(result("t-1", TaskStatus.PENDING)))
    await bus.emit({"type": "worker.online", "worker": {"id": "w-1", "hostname": "h", "pid": 7}})
    first, second = await received(communicator, 2)
    assert first["type"] == "task.update"
    assert first["task"]["task_id"] == "t-1" and first["task"]["status"] == "pending"
    assert "args" not in first["task"] and "result" not in first["task"]
    assert second["type"] == "worker.online" and second["worker"]["id"] == "w-1"


async def test_a_connection_for_one_task_gets_only_that_task(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, hello = await connect(staff, "?task=wanted")
    assert hello["subscription"] == ["task", "wanted"]
    await publish([task_event(task_id) for task_id in ("other", "wanted", "another")])
    (only,) = await received(communicator, 1)
    assert only["task"]["task_id"] == "wanted"
    assert await communicator.receive_nothing(timeout=0.3)


async def test_a_connection_for_one_worker_gets_its_tasks_and_heartbeats(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, _ = await connect(staff)
    await communicator.send_json_to({"subscribe": {"worker": "w-2"}})
    assert (await received(communicator, 1))[0]["type"] == "subscribed"
    await publish(
        [
            task_event("a", worker="w-1"),
            task_event("b", worker="w-2"),
            {"type": "worker.heartbeat", "worker": {"id": "w-1"}},
            {"type": "worker.heartbeat", "worker": {"id": "w-2"}},
        ]
    )
    got = await received(communicator, 2)
    assert [e.get("task", e.get("worker")).get("task_id", "w") for e in got] == ["b", "w"]
    assert await communicator.receive_nothing(timeout=0.3)


async def test_a_bad_subscribe_message_is_answered_with_an_error(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, _ = await connect(staff)
    await communicator.send_json_to({"subscribe": {"queue": "x"}})
    assert (await received(communicator, 1))[0]["type"] == "error"


async def test_the_bridge_sends_the_latest_state_per_task_per_interval(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, _ = await connect(staff)
    bridge = EventBridge(interval=0.2)
    bus = EventBus()
    bus.subscribe(bridge)
    for n in range(300):  # three states of 100 tasks within one interval
        status = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.SUCCESS)[n // 100]
        await bus.emit(task_update(result(f"t-{n % 100}", status)))
        if n == 0:
            await asyncio.sleep(0.01)  # the first event goes at once
            assert bridge.sent_messages == 1
    await until(lambda: bridge.sent_messages > 1, 5, "the interval's end")
    # the first event went at once, the other 299 at the interval's end as 100 latest states
    assert bridge.sent_messages == 2
    assert bridge.sent_events == 101
    got = await received(communicator, 101)
    last = {event["task"]["task_id"]: event["task"]["status"] for event in got}
    assert last == {f"t-{n}": "success" for n in range(100)}
    assert await communicator.receive_nothing(timeout=0.3)


async def test_a_slow_client_gets_a_resync_instead_of_an_unbounded_backlog(
    staff: User, connect, live_settings
) -> None:
    live_settings(IN_MEMORY, LIVE_UPDATES="channels")
    communicator, _ = await connect(staff)
    burst = 5 * OUTBOX_LIMIT
    await publish([task_event(f"t-{n}") for n in range(burst)])
    got: list[dict[str, Any]] = []
    while not await communicator.receive_nothing(timeout=0.5):
        got += unbatched(await communicator.receive_json_from())
    assert {"type": "resync"} in got
    assert len(got) <= OUTBOX_LIMIT + 1 < burst
