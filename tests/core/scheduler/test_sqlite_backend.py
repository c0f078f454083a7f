"""The SQLite schedule store: persistence, claims shared by two schedulers, a free event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from flowrra.scheduler import ManualClock, Scheduler
from flowrra.scheduler.backends import create_store
from flowrra.scheduler.backends.sqlite import SQLiteSchedulerBackend, path_from_url

from .conftest import START


def make_scheduler(path: Path, clock: ManualClock, fired: list[tuple[str, object]]) -> Scheduler:
    async def record(name: str, *args: object, **kwargs: object) -> str:
        fired.append((name, args[0] if args else None))
        return "id"

    scheduler = Scheduler(SQLiteSchedulerBackend(f"sqlite:///{path}"), clock=clock)
    scheduler.set_submit_callback(record)
    return scheduler


@pytest.mark.parametrize(
    ("url", "path"),
    [
        (None, ".flowrra_schedule.db"),
        ("sqlite://", ".flowrra_schedule.db"),
        ("sqlite:///schedule.db", "schedule.db"),
        ("sqlite:////var/lib/app/schedule.db", "/var/lib/app/schedule.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_urls_name_files(url: str | None, path: str) -> None:
    assert path_from_url(url) == path


async def test_the_default_store_is_flowrra_schedule_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = create_store(None)
    assert isinstance(backend, SQLiteSchedulerBackend)
    assert await backend.list_all() == []
    await backend.close()
    assert (tmp_path / ".flowrra_schedule.db").exists()


async def test_schedules_survive_a_restart(tmp_path: Path) -> None:
    clock, fired = ManualClock(START), []
    first = make_scheduler(tmp_path / "s.db", clock, fired)
    cron_id = await first.schedule_cron(
        "report", "0 9 * * *", args=[{"when": START}], timezone="Europe/Berlin", name="daily"
    )
    once_id = await first.schedule_once("report", START + dt.timedelta(hours=1))
    await first.disable_task(once_id)
    before = await first.list_scheduled_tasks()
    await first.stop()

    second = make_scheduler(tmp_path / "s.db", clock, fired)
    after = await second.list_scheduled_tasks()
    assert after == before
    stored = await second.get_scheduled_task(cron_id)
    assert stored is not None and stored.args == ({"when": START},) and stored.name == "daily"
    assert stored.next_run_at == dt.datetime(2025, 6, 3, 7, 0, tzinfo=dt.UTC)
    assert [t.id for t in await second.store.list_enabled()] == [cron_id]
    await second.stop()


async def test_two_schedulers_on_one_file_fire_each_occurrence_once(tmp_path: Path) -> None:
    clock, fired = ManualClock(START), []
    one = make_scheduler(tmp_path / "s.db", clock, fired)
    two = make_scheduler(tmp_path / "s.db", clock, fired)
    for number in range(20):
        await one.schedule_interval("ping", 1 + number % 3, args=[number])
    for _ in range(30):
        await clock.advance(1)
        await asyncio.gather(one.run_pending(), two.run_pending())
    per_schedule = {n: sum(1 for _, v in fired if v == n) for n in range(20)}
    assert per_schedule == {n: 30 // (1 + n % 3) for n in range(20)}
    await one.stop()
    await two.stop()


async def test_a_locked_database_does_not_block_the_event_loop(tmp_path: Path) -> None:
    clock, fired = ManualClock(START), []
    scheduler = make_scheduler(tmp_path / "s.db", clock, fired)
    await scheduler.schedule_interval("ping", 1)
    await clock.advance(1)
    blocker = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    claiming = asyncio.create_task(scheduler.run_pending())
    ticks = 0
    while ticks < 50:  # the loop keeps running other coroutines meanwhile
        await asyncio.sleep(0.001)
        ticks += 1
    assert not claiming.done()
    blocker.execute("COMMIT")
    blocker.close()
    assert await asyncio.wait_for(claiming, 30) != []
    assert len(fired) == 1
    await scheduler.stop()


async def test_an_app_scheduler_on_sqlite(tmp_path: Path) -> None:
    from flowrra import Flowrra

    app = Flowrra.from_urls()
    ran = asyncio.Event()

    @app.task()
    async def ping() -> None:
        ran.set()

    scheduler = app.create_scheduler(f"sqlite:///{tmp_path / 'app.db'}", check_interval=1)
    await scheduler.schedule_once("ping", dt.datetime.now(dt.UTC))
    async with app:
        await asyncio.wait_for(ran.wait(), 10)
    assert not scheduler.is_running
    (stored,) = await scheduler.list_scheduled_tasks()
    assert stored.total_run_count == 1 and not stored.enabled
    await scheduler.store.close()
