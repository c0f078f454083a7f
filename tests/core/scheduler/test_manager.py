"""FlowrraManager's schedule methods: the facade dashboards and the admin use."""

from __future__ import annotations

import pytest

from flowrra import Flowrra
from flowrra.management.manager import FlowrraManager

from .conftest import START, Harness


async def test_manager_creates_lists_toggles_and_deletes_schedules(harness: Harness) -> None:
    manager = FlowrraManager(harness.app)
    cron_id = await manager.create_schedule_cron(
        "ping", "*/5 * * * *", args=[1], description="every five", timezone="Europe/Berlin"
    )
    interval_id = await manager.create_schedule_interval("ping", 30, priority=3, enabled=False)

    schedules = await manager.list_schedules()
    assert [s["id"] for s in schedules] == [cron_id, interval_id]
    assert [s["id"] for s in await manager.list_schedules(enabled_only=True)] == [cron_id]
    detail = await manager.get_schedule(cron_id)
    assert detail is not None
    assert detail["schedule"] == "*/5 * * * *" and detail["timezone"] == "Europe/Berlin"
    assert detail["next_run_at"] == "2025-06-02T12:05:00+00:00"
    assert await manager.get_schedule("missing") is None

    stats = await manager.get_scheduler_stats()
    assert stats is not None
    assert stats["running"] is True
    assert (stats["total_schedules"], stats["enabled_schedules"], stats["disabled_schedules"]) == (
        2,
        1,
        1,
    )
    assert stats["next_run_at"] == "2025-06-02T12:05:00+00:00"

    assert await manager.enable_schedule(interval_id) is True
    assert await manager.disable_schedule(cron_id) is True
    assert await manager.enable_schedule("missing") is False
    await harness.advance(30)
    assert harness.runs == [(START.replace(second=30), None)]

    assert await manager.delete_schedule(interval_id) is True
    assert await manager.delete_schedule(interval_id) is False
    assert [s["id"] for s in await manager.list_schedules()] == [cron_id]


async def test_manager_rejects_bad_input_through_the_scheduler(harness: Harness) -> None:
    manager = FlowrraManager(harness.app)
    with pytest.raises(ValueError, match="minute field '61'"):
        await manager.create_schedule_cron("ping", "61 * * * *")
    with pytest.raises(ValueError, match="> 0"):
        await manager.create_schedule_interval("ping", 0)
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        await manager.create_schedule_interval("ping", 5, args=[object()])
    assert await manager.list_schedules() == []


async def test_without_a_scheduler_reads_are_empty_and_writes_say_what_to_do() -> None:
    manager = FlowrraManager(Flowrra.from_urls())
    assert await manager.list_schedules() == []
    assert await manager.get_schedule("x") is None
    assert await manager.get_scheduler_stats() is None
    with pytest.raises(ValueError, match=r"call app.create_scheduler\(\) first"):
        await manager.create_schedule_cron("ping", "* * * * *")
