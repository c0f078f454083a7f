"""A schedule sends its task with the task's own queue and retry settings unless it sets
them on purpose, in every schedule store."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrra import Flowrra
from flowrra.scheduler import ManualClock, Scheduler

from .conftest import START


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
async def test_a_schedule_without_options_uses_the_tasks_own(store: str, tmp_path: Path) -> None:
    app = Flowrra.from_urls()

    @app.task(queue="emails", max_retries=0, retry_delay=7.0, priority=4)
    async def send_digest(user_id: int) -> int:
        return user_id

    url = store if store != "sqlite" else f"sqlite:///{tmp_path / 'schedules.db'}"
    clock = ManualClock(START)
    scheduler = Scheduler(url, app=app, check_interval=3600, clock=clock)
    await app.start(worker=False)
    try:
        plain = await scheduler.schedule_interval("send_digest", 60, args=[1])
        chosen = await scheduler.schedule_interval(
            "send_digest", 60, args=[2], queue="urgent", max_retries=2, priority=9
        )
        stored = await scheduler.get_scheduled_task(plain)
        assert stored is not None
        assert (stored.queue, stored.priority, stored.max_retries, stored.retry_delay) == (
            None,
            None,
            None,
            None,
        )
        await clock.advance(60)
        assert len(await scheduler.run_pending()) == 2
        deliveries = await app.broker_required.fetch(["emails", "urgent"], 10, 0)
        sent = {d.task.args[0]: d.task for d in deliveries}
        assert (sent[1].queue, sent[1].max_retries, sent[1].retry_delay, sent[1].priority) == (
            "emails",
            0,
            7.0,
            4,
        )
        assert (sent[2].queue, sent[2].max_retries, sent[2].retry_delay, sent[2].priority) == (
            "urgent",
            2,
            7.0,
            9,
        )
        assert chosen != plain
    finally:
        await scheduler.store.close()
        await app.stop(wait=False)
