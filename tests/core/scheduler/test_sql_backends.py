"""The PostgreSQL and MySQL schedule stores, on the real servers: the store's contract,
tables created on first use, and two schedulers firing each occurrence once.

Each run works in a database of its own on each server (``flowrra_sched_<pid>``, dropped
at the end) and each test in a table of its own (the URL's ``table`` option).
``FLOWRRA_TEST_DATABASE_URL`` and ``FLOWRRA_TEST_MYSQL_URL`` name the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

from flowrra import Flowrra
from flowrra.scheduler import ManualClock, ScheduledTask, Scheduler, ScheduleType
from flowrra.scheduler.backends import create_store
from flowrra.scheduler.backends.sql import SQLSchedulerBackend
from tests.services import unavailable

from .conftest import START

POSTGRES = os.environ.get("FLOWRRA_TEST_DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
MYSQL = os.environ.get("FLOWRRA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
DATABASE = f"flowrra_sched_{os.getpid()}"


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _mysql_connect(url: str, database: str | None = None) -> pymysql.Connection:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        connect_timeout=3,
        autocommit=True,
    )


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {POSTGRES} is not reachable ({exc})", "start it")
    admin.execute(f"CREATE DATABASE {DATABASE}")
    yield _with_database(POSTGRES, DATABASE).replace("postgres://", "postgresql://", 1)
    admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def mysql_database() -> Iterator[str]:
    try:
        admin = _mysql_connect(MYSQL)
    except pymysql.err.OperationalError as exc:
        unavailable(f"MariaDB/MySQL at {MYSQL} is not reachable ({exc})", "start it")
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    yield _with_database(MYSQL, DATABASE)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    admin.close()


@pytest.fixture(params=["postgresql", "mysql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A URL of a table of this test's own, on each server."""
    marker = pytest.mark.postgres if request.param == "postgresql" else pytest.mark.mysql
    request.applymarker(marker)
    database = request.getfixturevalue(f"{request.param}_database")
    return f"{database}?table=t_{secrets.token_hex(4)}"


def table_exists(url: str) -> bool:
    table = url.rsplit("table=", 1)[1]
    if url.startswith("postgresql://"):
        with psycopg.connect(url.split("?", 1)[0]) as connection:
            row = connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()
            return row is not None and row[0] is not None
    with _mysql_connect(MYSQL, DATABASE) as connection, connection.cursor() as cursor:
        return bool(cursor.execute("SHOW TABLES LIKE %s", (table,)))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SQLSchedulerBackend]:
    backend = create_store(store_url)
    assert isinstance(backend, SQLSchedulerBackend)
    yield backend
    await backend.close()


def make_scheduler(url: str, clock: ManualClock, fired: list[object]) -> Scheduler:
    async def record(name: str, *args: object, **kwargs: object) -> str:
        fired.append(args[0] if args else None)
        return "id"

    scheduler = Scheduler(url, clock=clock)
    scheduler.set_submit_callback(record)
    return scheduler


def interval(task_id: str, next_run: dt.datetime | None, enabled: bool = True) -> ScheduledTask:
    return ScheduledTask(
        task_id, "ping", ScheduleType.INTERVAL, "60", enabled=enabled, next_run_at=next_run
    )


async def test_the_table_is_created_on_first_use(store_url: str) -> None:
    backend = create_store(store_url)
    assert not table_exists(store_url)  # creating the store does not touch the server
    assert await backend.list_all() == []
    assert table_exists(store_url)
    await backend.close()


async def test_the_store_keeps_and_orders_schedules(store: SQLSchedulerBackend) -> None:
    later, sooner = START + dt.timedelta(hours=1), START - dt.timedelta(minutes=1)
    stored = await store.create(interval("b", later))
    await store.create(interval("a", sooner))
    await store.create(interval("c", None))  # enabled, not planned yet: due at once
    await store.create(interval("d", sooner, enabled=False))
    with pytest.raises(ValueError, match="already exists"):
        await store.create(interval("a", later))
    assert await store.get("b") == stored
    assert await store.get("missing") is None
    assert [t.id for t in await store.list_all()] == ["a", "d", "b", "c"]
    assert [t.id for t in await store.list_enabled()] == ["a", "b", "c"]
    assert [t.id for t in await store.list_due(START, 10)] == ["c", "a"]
    assert [t.id for t in await store.list_due(START, 1)] == ["c"]
    assert await store.next_due_at() == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    planned = interval("c", START + dt.timedelta(minutes=5))
    await store.update(planned)
    await store.update(planned)  # the same values again: still there
    assert (await store.get("c")) == planned
    assert await store.next_due_at() == sooner
    with pytest.raises(ValueError, match="no schedule"):
        await store.update(interval("missing", START))
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.clear() == 3
    assert await store.list_all() == [] and await store.next_due_at() is None


async def test_a_claim_is_won_once_and_only_for_the_occurrence_read(
    store: SQLSchedulerBackend, store_url: str
) -> None:
    from flowrra.scheduler import Claim

    await store.create(interval("a", START))
    await store.create(interval("b", START))
    nxt = START + dt.timedelta(minutes=1)
    claims = [Claim(i, START, nxt, True, START) for i in ("a", "b", "gone")]
    other = create_store(store_url)
    won = await asyncio.gather(store.claim(claims), other.claim(claims))
    await other.close()
    assert sorted(won[0] | won[1]) == ["a", "b"] and not won[0] & won[1]
    assert await store.claim(claims) == set()
    a = await store.get("a")
    assert a is not None and (a.next_run_at, a.last_run_at, a.total_run_count) == (nxt, START, 1)
    finished = Claim("b", nxt, None, True, nxt)  # a one-off that ran: disabled
    assert await store.claim([finished]) == {"b"}
    b = await store.get("b")
    assert b is not None and not b.enabled and b.next_run_at is None


async def test_two_schedulers_fire_each_occurrence_once(store_url: str) -> None:
    clock, fired = ManualClock(START), []
    one = make_scheduler(store_url, clock, fired)
    two = make_scheduler(store_url, clock, fired)
    for number in range(20):
        await one.schedule_interval("ping", 1 + number % 3, args=[number])
    for _ in range(30):
        await clock.advance(1)
        await asyncio.gather(one.run_pending(), two.run_pending())
    per_schedule = {n: fired.count(n) for n in range(20)}
    assert per_schedule == {n: 30 // (1 + n % 3) for n in range(20)}
    await one.stop()
    await two.stop()


async def test_two_schedulers_split_a_burst_without_firing_any_twice(store_url: str) -> None:
    clock, fired = ManualClock(START), []
    schedulers = [make_scheduler(store_url, clock, fired) for _ in range(2)]
    for scheduler in schedulers:
        scheduler.batch_size = 100  # several passes each, interleaved
    for number in range(600):
        await schedulers[0].schedule_interval("ping", 60, args=[number])
    await clock.advance(60)
    won = await asyncio.gather(*(s.run_pending() for s in schedulers))
    assert sorted(fired) == list(range(600))
    assert len(won[0]) + len(won[1]) == 600
    for scheduler in schedulers:
        await scheduler.stop()


async def test_a_claim_waiting_for_a_lock_leaves_the_event_loop_free(store_url: str) -> None:
    clock, fired = ManualClock(START), []
    scheduler = make_scheduler(store_url, clock, fired)
    schedule_id = await scheduler.schedule_interval("ping", 1)
    await clock.advance(1)
    table = store_url.rsplit("table=", 1)[1]
    lock = f"SELECT id FROM {table} WHERE id = %s FOR UPDATE"
    if store_url.startswith("postgresql://"):
        blocker: object = psycopg.connect(store_url.split("?", 1)[0])
        blocker.execute(lock, (schedule_id,))
    else:
        blocker = _mysql_connect(MYSQL, DATABASE)
        blocker.begin()
        blocker.cursor().execute(lock, (schedule_id,))
    claiming = asyncio.create_task(scheduler.run_pending())
    ticks = 0
    while ticks < 50:  # the loop runs other coroutines while the claim waits
        await asyncio.sleep(0.001)
        ticks += 1
    assert not claiming.done()
    blocker.commit()
    blocker.close()
    assert await asyncio.wait_for(claiming, 30) == [schedule_id]
    assert len(fired) == 1
    await scheduler.stop()


async def test_an_app_scheduler_on_the_url(store_url: str) -> None:
    app = Flowrra.from_urls()
    ran = asyncio.Event()

    @app.task()
    async def ping() -> None:
        ran.set()

    scheduler = app.create_scheduler(backend=store_url, check_interval=1)
    await scheduler.schedule_once("ping", dt.datetime.now(dt.UTC))
    async with app:
        await asyncio.wait_for(ran.wait(), 10)
    (stored,) = await scheduler.list_scheduled_tasks()
    assert stored.total_run_count == 1 and not stored.enabled
    await scheduler.store.close()


async def test_a_lost_connection_is_reopened(store: SQLSchedulerBackend, store_url: str) -> None:
    await store.create(interval("a", START))
    postgres = store_url.startswith("postgresql")
    async with store._session() as cursor:
        await cursor.execute("SELECT pg_backend_pid()" if postgres else "SELECT CONNECTION_ID()")
        (session,) = await cursor.fetchone()
    if postgres:  # the store's own session, ended by the server
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (session,))
    else:
        with _mysql_connect(MYSQL) as admin, admin.cursor() as cursor:
            cursor.execute(f"KILL {int(session)}")
    with pytest.raises((psycopg.OperationalError, pymysql.err.OperationalError)):
        await store.get("a")
    assert (await store.get("a")) is not None


class PassCutOff(Exception):
    """What cuts a pass off between its submissions and its commit below."""


async def test_a_pass_cut_off_before_its_commit_leaves_the_occurrence_due(
    store: SQLSchedulerBackend,
) -> None:
    """The claims commit after the submissions: the next pass fires the occurrence again
    (at least once, docs/guarantees.md)."""
    held = store.firing

    @contextlib.asynccontextmanager
    async def cut_off(app: Flowrra | None) -> AsyncIterator[bool]:
        async with held(app) as atomic:
            yield atomic
            raise PassCutOff

    fired: list[object] = []

    async def record(name: str, *args: object) -> str:
        fired.append(name)
        return "id"

    scheduler = Scheduler(store, clock=ManualClock(START))
    scheduler.set_submit_callback(record)
    await store.create(interval("nightly", START))
    store.firing = cut_off  # type: ignore[method-assign]  # the seam: this store only
    with pytest.raises(PassCutOff):
        await scheduler.run_pending()
    still_due = await store.get("nightly")
    assert still_due is not None and still_due.total_run_count == 0
    del store.firing
    assert await scheduler.run_pending() == ["nightly"]
    fired_once = await store.get("nightly")
    assert fired_once is not None and fired_once.total_run_count == 1
    assert fired == ["ping", "ping"]  # submitted by both passes
