"""The django:// result backend against the test database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async

from flowrra import BackendConfig, TaskResult, TaskStatus, TaskTimeoutError
from flowrra.task import utcnow
from flowrra_django.backends import DatabaseBackend
from flowrra_django.models import TaskResult as TaskResultRow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def backend() -> AsyncIterator[DatabaseBackend]:
    store = DatabaseBackend(BackendConfig("django://"))
    await store.connect()
    yield store
    await store.close()


def result(task_id: str, status: TaskStatus = TaskStatus.PENDING, **fields: object) -> TaskResult:
    values: dict[str, object] = {
        "task_name": "add",
        "args": (1, 2),
        "submitted_at": utcnow(),
    }
    values.update(fields)
    return TaskResult(task_id, status, **values)  # type: ignore[arg-type]


async def test_a_stored_result_reads_back_the_same(backend: DatabaseBackend) -> None:
    started = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    stored = result(
        "a",
        TaskStatus.FAILED,
        kwargs={"x": [1, 2]},
        error="boom",
        error_type="ValueError",
        traceback="Traceback ...",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=1.5),
        retries=2,
        queue="emails",
        priority=7,
        worker="host:1:abc",
    )
    await backend.store([stored])
    assert await backend.get("a") == stored
    row = await TaskResultRow.objects.aget(task_id="a")
    assert row.runtime == 1.5


async def test_later_results_of_a_task_win_in_one_batch_and_across_batches(
    backend: DatabaseBackend,
) -> None:
    await backend.store([result("a"), result("a", TaskStatus.RUNNING), result("b")])
    await backend.store([result("a", TaskStatus.SUCCESS, result={"n": 3})])
    found = await backend.get_many(["b", "missing", "a"])
    assert [r.status if r else None for r in found] == [
        TaskStatus.PENDING,
        None,
        TaskStatus.SUCCESS,
    ]
    assert found[2] is not None and found[2].result == {"n": 3}
    assert await TaskResultRow.objects.acount() == 2


async def test_a_worker_write_keeps_the_admin_retry_link(backend: DatabaseBackend) -> None:
    await backend.store([result("original", TaskStatus.FAILED), result("again")])
    original = await TaskResultRow.objects.aget(task_id="original")
    await TaskResultRow.objects.filter(task_id="again").aupdate(retry_of=original)
    await backend.store([result("again", TaskStatus.SUCCESS)])
    again = await TaskResultRow.objects.select_related("retry_of").aget(task_id="again")
    assert again.status == "success" and again.retry_of == original


async def test_list_counts_and_delete(backend: DatabaseBackend) -> None:
    base = utcnow()
    await backend.store(
        [
            result(f"t{i}", status, submitted_at=base + dt.timedelta(seconds=i), task_name=name)
            for i, (status, name) in enumerate(
                [
                    (TaskStatus.SUCCESS, "add"),
                    (TaskStatus.FAILED, "add"),
                    (TaskStatus.SUCCESS, "mail"),
                    (TaskStatus.PENDING, "add"),
                ]
            )
        ]
    )
    assert [r.task_id for r in await backend.list()] == ["t3", "t2", "t1", "t0"]
    assert [r.task_id for r in await backend.list([TaskStatus.SUCCESS])] == ["t2", "t0"]
    assert [r.task_id for r in await backend.list(task_name="add", limit=1, offset=1)] == ["t1"]
    counts = await backend.counts()
    assert counts[TaskStatus.SUCCESS] == 2 and counts[TaskStatus.PENDING] == 1
    assert counts[TaskStatus.REVOKED] == 0
    assert await backend.delete(["t0", "t1", "nope"]) == 2
    assert await backend.get("t0") is None


async def test_wait_returns_once_another_writer_finishes_the_task(
    backend: DatabaseBackend,
) -> None:
    await backend.store([result("w")])

    async def finish_later() -> None:
        await asyncio.sleep(0.1)
        await sync_to_async(TaskResultRow.objects.filter(task_id="w").update)(status="success")

    finisher = asyncio.create_task(finish_later())
    done = await backend.wait("w", timeout=30)
    await finisher
    assert done.status is TaskStatus.SUCCESS
    with pytest.raises(TaskTimeoutError):
        await backend.wait("never", timeout=0.05)


async def test_ping_and_describe(backend: DatabaseBackend) -> None:
    assert await backend.ping() is True
    assert backend.describe().startswith("django:// (")
