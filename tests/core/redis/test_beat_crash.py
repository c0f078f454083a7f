"""A beat SIGKILLed between submitting a pass's tasks to Redis and committing its claims in
the SQLite store: the occurrence is not lost, and the next beat submits it again under the
same task id (at least once; docs/guarantees.md, "Schedules fire once")."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from pathlib import Path

from flowrra.scheduler import Scheduler
from flowrra.scheduler.backends.sqlite import SQLiteSchedulerBackend
from flowrra.scheduler.submission import occurrence_id

from .conftest import Space, make_app


async def test_a_beat_killed_before_its_claims_commit_leaves_the_run_to_the_next_beat(
    tmp_path: Path, r: Space
) -> None:
    path = tmp_path / "schedule.db"
    store = SQLiteSchedulerBackend(f"sqlite:///{path}")
    app = make_app(r.url)
    scheduler = Scheduler(store, app=app)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await scheduler.schedule_once("record", due, args=["nightly"])
    (schedule,) = await scheduler.list_scheduled_tasks()
    await store.close()

    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.core.redis.crashing_beat",
        str(path),
        r.url,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(crashed.communicate(), 60)
    assert crashed.returncode == -signal.SIGKILL, errors.decode()

    await app.start(worker=False)
    try:
        task_id = occurrence_id(schedule)
        submitted = await app.get_result(task_id)
        assert submitted is not None and submitted.task_name == "record"
        (still_due,) = await scheduler.list_scheduled_tasks()
        assert still_due.enabled and still_due.total_run_count == 0

        assert await scheduler.run_pending() == [schedule.id]
        (fired,) = await scheduler.list_scheduled_tasks()
        assert not fired.enabled and fired.total_run_count == 1
        deliveries = await app.broker.fetch(["default"], 10, timeout=1)
        assert [delivery.task.id for delivery in deliveries] == [task_id, task_id]
    finally:
        await app.stop()
        await store.close()
