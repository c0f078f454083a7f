"""The event bus and the task.update stream a dashboard lives on."""

from __future__ import annotations

import logging

import pytest

from flowrra import EventBus, Flowrra
from tests.core.conftest import statuses


async def test_events_arrive_in_order_pending_running_success(app: Flowrra, events: list) -> None:
    @app.task()
    async def work(n: int) -> int:
        return n * 2

    await app.start()
    ids = [await app.submit(work, n) for n in range(20)]
    await app.join(timeout=5)
    for task_id in ids:
        assert statuses(events, task_id) == ["pending", "running", "success"]
    final = [
        e["task"] for e in events if e["type"] == "task.update" and e["task"]["status"] == "success"
    ]
    assert sorted(t["result"] for t in final) == [n * 2 for n in range(20)]
    assert {"worker.online", "worker.heartbeat"} <= {e["type"] for e in events}


async def test_failing_subscriber_breaks_neither_the_others_nor_the_worker(
    app: Flowrra, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def broken(event: dict) -> None:
        raise RuntimeError("subscriber bug")

    async def healthy(event: dict) -> None:
        if event["type"] == "task.update":
            seen.append(event["task"]["status"])

    app.events.subscribe(broken)
    await app.events.async_subscribe(healthy)

    @app.task()
    async def ok() -> str:
        return "fine"

    await app.start()
    with caplog.at_level(logging.ERROR, logger="flowrra.events"):
        result = await app.wait_for_result(await app.submit(ok), timeout=5)
        await app.join(timeout=5)
    assert result.is_success
    assert seen == ["pending", "running", "success"]
    assert "subscriber bug" in caplog.text


async def test_unsubscribe_stops_delivery_and_duplicates_are_ignored() -> None:
    bus = EventBus()
    got: list[dict] = []

    async def listener(event: dict) -> None:
        got.append(event)

    bus.subscribe(listener)
    bus.subscribe(listener)
    await bus.emit({"type": "x"})
    await bus.unsubscribe(listener)
    await bus.emit({"type": "y"})
    assert got == [{"type": "x"}]
    with pytest.raises(TypeError, match="subscriber must be callable"):
        bus.subscribe("not callable")  # type: ignore[arg-type]
