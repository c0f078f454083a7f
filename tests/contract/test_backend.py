"""What every result backend guarantees, driven through ``BaseResultBackend`` alone: stored
results read back, a later state wins, expiry, listings and counts, and waiting without a
lost wake-up. Behaviour of one backend only lives beside it (tests/core/redis/test_backend.py,
tests/django/test_backend.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from flowrra import TaskResult, TaskStatus, TaskTimeoutError
from tests.waiting import until

from .conftest import BackendFactory

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def result(task_id: str, status: TaskStatus, name: str = "job", second: int = 0) -> TaskResult:
    """A result submitted now, plus ``second`` seconds (listings order by submission)."""
    submitted = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=second)
    return TaskResult(task_id, status, name, submitted_at=submitted, result={"id": task_id})


async def test_a_stored_result_reads_back_the_same_and_a_later_state_wins(
    backends: BackendFactory,
) -> None:
    backend = await backends()
    failed = result("f", TaskStatus.FAILED)
    failed.args, failed.kwargs = (1, "x"), {"when": T0}
    failed.error, failed.error_type, failed.retries = "boom", "ValueError", 2
    failed.started_at = started = dt.datetime.now(dt.UTC)
    failed.finished_at = started + dt.timedelta(seconds=1.5)
    pending = result("a", TaskStatus.PENDING)
    await backend.store([failed, pending, pending.evolve(TaskStatus.RUNNING)])
    await backend.store([pending.evolve(TaskStatus.SUCCESS, result=[1, 2])])

    assert await backend.get("f") == failed
    done = await backend.get("a")
    assert done is not None and done.status is TaskStatus.SUCCESS and done.result == [1, 2]
    assert await backend.get_many(["a", "missing", "f"]) == [done, None, failed]
    counts = await backend.counts()
    assert counts[TaskStatus.SUCCESS] == counts[TaskStatus.FAILED] == 1
    assert sum(counts.values()) == 2


async def test_final_results_expire_after_the_ttl(backends: BackendFactory, kind: str) -> None:
    if kind == "django":
        pytest.skip("django:// keeps results until flowrra_cleanup (tests/django/test_cleanup.py)")
    backend = await backends(ttl=1)
    await backend.store([result("old", TaskStatus.SUCCESS)])
    assert await backend.get("old") is not None

    async def expired() -> bool:
        return await backend.get("old") is None

    await until(expired, 5, "the result to expire")

    assert await backend.list() == []
    assert (await backend.counts())[TaskStatus.SUCCESS] == 0


async def test_list_filters_by_status_and_name_newest_first_and_counts(
    backends: BackendFactory,
) -> None:
    backend = await backends()
    await backend.store(
        [result(f"p{i}", TaskStatus.PENDING, "mail", second=i) for i in range(5)]
        + [result(f"q{i}", TaskStatus.PENDING, "report", second=10 + i) for i in range(3)]
    )
    await backend.store([result("p1", TaskStatus.SUCCESS, "mail", second=1)])

    assert [x.task_id for x in await backend.list(limit=3)] == ["q2", "q1", "q0"]
    assert [x.task_id for x in await backend.list(limit=3, offset=3)] == ["p4", "p3", "p2"]
    assert [x.task_id for x in await backend.list([TaskStatus.SUCCESS])] == ["p1"]
    mail_pending = await backend.list([TaskStatus.PENDING], task_name="mail", limit=2, offset=1)
    assert [x.task_id for x in mail_pending] == ["p3", "p2"]
    counts = await backend.counts()
    assert (counts[TaskStatus.PENDING], counts[TaskStatus.SUCCESS]) == (7, 1)
    assert counts[TaskStatus.REVOKED] == 0


async def test_delete_removes_results_from_every_listing(backends: BackendFactory) -> None:
    backend = await backends()
    await backend.store([result("a", TaskStatus.PENDING), result("b", TaskStatus.PENDING)])
    await backend.store([result("a", TaskStatus.SUCCESS)])

    assert await backend.delete(["a", "nope"]) == 1
    assert await backend.get("a") is None
    assert [x.task_id for x in await backend.list(task_name="job")] == ["b"]
    assert sum((await backend.counts()).values()) == 1


async def test_no_wake_up_is_lost_when_results_race_with_waits(backends: BackendFactory) -> None:
    """Waits race with results stored at random moments by another backend (its own
    connections, as another process would have): every one wakes, none times out."""
    waiter, worker = await backends(), await backends()
    ids = [f"t{i}" for i in range(50)]
    await worker.store([result(i, TaskStatus.PENDING) for i in ids])

    async def finish(task_id: str) -> None:
        await asyncio.sleep(random.random() * 0.2)  # the race: no order between the two
        await worker.store([result(task_id, TaskStatus.SUCCESS)])

    async def wait(task_id: str) -> TaskResult:
        await asyncio.sleep(random.random() * 0.2)
        return await waiter.wait(task_id, timeout=20)

    waits = asyncio.gather(*map(wait, ids))
    finished, _ = await asyncio.gather(waits, asyncio.gather(*map(finish, ids)))
    assert [x.task_id for x in finished] == ids
    assert all(x.status is TaskStatus.SUCCESS for x in finished)


async def test_several_waiters_of_one_task_all_wake(backends: BackendFactory) -> None:
    waiter, worker = await backends(), await backends()
    await worker.store([result("t", TaskStatus.PENDING)])
    waits = [asyncio.create_task(waiter.wait("t", timeout=20)) for _ in range(3)]
    await asyncio.sleep(0.05)  # most likely the waits are waiting by now; they wake either way

    await worker.store([result("t", TaskStatus.REVOKED)])

    assert {x.status for x in await asyncio.gather(*waits)} == {TaskStatus.REVOKED}


async def test_waiting_for_a_task_that_never_finishes_times_out(backends: BackendFactory) -> None:
    backend = await backends()
    await backend.store([result("stuck", TaskStatus.RUNNING)])

    with pytest.raises(TaskTimeoutError):
        await backend.wait("stuck", timeout=0.1)
    with pytest.raises(TaskTimeoutError):
        await backend.wait("never-submitted", timeout=0.05)
