"""RedisBackend: stored results, expiry, dashboard listings and waiting without lost wake-ups."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable

import pytest

from flowrra import BackendConfig, TaskResult, TaskStatus, TaskTimeoutError
from flowrra.backends.redis import RedisBackend

from .conftest import Space

Factory = Callable[..., RedisBackend]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def backends(r: Space) -> AsyncIterator[Factory]:
    """Backends in the test's key space, closed at the end."""
    made: list[RedisBackend] = []

    def make(**options: object) -> RedisBackend:
        backend = RedisBackend(BackendConfig(url=r.url, **options))  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


def result(task_id: str, status: TaskStatus, name: str = "job", minute: int = 0) -> TaskResult:
    submitted = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minute)
    return TaskResult(task_id, status, name, submitted_at=submitted, result={"id": task_id})


async def test_results_round_trip_as_json_and_a_later_state_wins(backends: Factory) -> None:
    backend = backends()
    await backend.connect()
    stored = result("a", TaskStatus.PENDING)
    stored.args, stored.kwargs = (1, "x"), {"when": T0}
    await backend.store([stored, stored.evolve(TaskStatus.RUNNING)])
    await backend.store([stored.evolve(TaskStatus.SUCCESS, result=[1, 2])])

    got = await backend.get("a")
    assert got is not None and got.status is TaskStatus.SUCCESS and got.result == [1, 2]
    assert got.kwargs == {"when": T0} and got.args == (1, "x")
    assert await backend.get_many(["a", "missing"]) == [got, None]
    assert (await backend.counts())[TaskStatus.SUCCESS] == 1
    assert sum((await backend.counts()).values()) == 1


async def test_a_worker_result_reads_back_the_same_from_either_codec(
    backends: Factory, codec: str
) -> None:
    backend = backends()
    await backend.connect()
    stored = result("plain", TaskStatus.SUCCESS)
    stored.args, stored.kwargs, stored.result = (1, "é", 2.5, None), {"n": 2**70}, 7
    stored.started_at = stored.finished_at = T0
    await backend.store([stored])
    assert await backend.get("plain") == stored


async def test_final_results_expire_after_the_ttl(backends: Factory, r: Space) -> None:
    backend = backends(ttl=1)
    await backend.connect()
    await backend.store([result("old", TaskStatus.SUCCESS)])
    assert 0 < r.client.ttl(r.key("result", "old")) <= 1

    await asyncio.sleep(1.3)

    assert await backend.get("old") is None
    assert (await backend.counts())[TaskStatus.SUCCESS] == 0
    assert await backend.list() == []


async def test_default_ttl_is_one_day(backends: Factory, r: Space) -> None:
    backend = backends()
    await backend.connect()
    await backend.store([result("a", TaskStatus.FAILED)])
    assert 86_000 < r.client.ttl(r.key("result", "a")) <= 86_400


async def test_list_filters_by_status_and_name_newest_first(backends: Factory) -> None:
    backend = backends()
    await backend.connect()
    await backend.store(
        [result(f"p{i}", TaskStatus.PENDING, "mail", minute=i) for i in range(5)]
        + [result(f"q{i}", TaskStatus.PENDING, "report", minute=10 + i) for i in range(3)]
    )
    await backend.store([result("p1", TaskStatus.SUCCESS, "mail", minute=1)])

    newest = await backend.list(limit=3)
    assert [x.task_id for x in newest] == ["q2", "q1", "q0"]
    assert [x.task_id for x in await backend.list(limit=3, offset=3)] == ["p4", "p3", "p2"]
    assert [x.task_id for x in await backend.list([TaskStatus.SUCCESS])] == ["p1"]
    mail_pending = await backend.list([TaskStatus.PENDING], task_name="mail", limit=2, offset=1)
    assert [x.task_id for x in mail_pending] == ["p3", "p2"]
    assert (await backend.counts())[TaskStatus.PENDING] == 7


async def test_delete_removes_results_from_every_index(backends: Factory) -> None:
    backend = backends()
    await backend.connect()
    await backend.store([result("a", TaskStatus.PENDING), result("b", TaskStatus.PENDING)])
    await backend.store([result("a", TaskStatus.SUCCESS)])

    assert await backend.delete(["a", "nope"]) == 1
    assert await backend.get("a") is None
    assert [x.task_id for x in await backend.list(task_name="job")] == ["b"]
    assert sum((await backend.counts()).values()) == 1


async def test_no_wake_up_is_lost_when_results_race_with_waits(backends: Factory, r: Space) -> None:
    """Many waits race with results stored at random moments by another client (its own
    connections, as another process would have): every one wakes, none times out."""
    waiter, worker = backends(), backends()
    await waiter.connect()
    await worker.connect()
    ids = [f"t{i}" for i in range(300)]
    await worker.store([result(i, TaskStatus.PENDING) for i in ids])

    async def finish(task_id: str) -> None:
        await asyncio.sleep(random.random() * 0.3)
        await worker.store([result(task_id, TaskStatus.SUCCESS)])

    async def wait(task_id: str) -> TaskResult:
        await asyncio.sleep(random.random() * 0.3)
        return await waiter.wait(task_id, timeout=10)

    finished = await asyncio.gather(*map(wait, ids), *map(finish, ids))
    assert [x.task_id for x in finished[: len(ids)]] == ids
    assert all(x.status is TaskStatus.SUCCESS for x in finished[: len(ids)])
    assert r.client.keys(r.key("waiters", "*")) == []  # every registration was consumed


async def test_several_local_waiters_of_one_task_all_wake(backends: Factory) -> None:
    waiter, worker = backends(), backends()
    await waiter.connect()
    await worker.connect()
    await worker.store([result("t", TaskStatus.PENDING)])
    waits = [asyncio.create_task(waiter.wait("t", timeout=10)) for _ in range(3)]
    await asyncio.sleep(0.1)
    await worker.store([result("t", TaskStatus.REVOKED)])

    assert {x.status for x in await asyncio.gather(*waits)} == {TaskStatus.REVOKED}


async def test_waiting_for_a_task_that_never_finishes_times_out(
    backends: Factory, r: Space
) -> None:
    backend = backends()
    await backend.connect()
    await backend.store([result("stuck", TaskStatus.RUNNING)])

    with pytest.raises(TaskTimeoutError):
        await backend.wait("stuck", timeout=0.2)
    assert r.client.scard(r.key("waiters", "stuck")) == 0  # the registration is withdrawn
