"""What only the django:// result backend does: its columns and the admin's retry link.
What every result backend guarantees is in tests/contract/test_backend.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from flowrra import BackendConfig, TaskResult, TaskStatus
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


async def test_a_stored_result_keeps_every_field_and_fills_the_runtime_column(
    backend: DatabaseBackend,
) -> None:
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


async def test_a_worker_write_keeps_the_admin_retry_link(backend: DatabaseBackend) -> None:
    await backend.store([result("original", TaskStatus.FAILED), result("again")])
    original = await TaskResultRow.objects.aget(task_id="original")
    await TaskResultRow.objects.filter(task_id="again").aupdate(retry_of=original)
    await backend.store([result("again", TaskStatus.SUCCESS)])
    again = await TaskResultRow.objects.select_related("retry_of").aget(task_id="again")
    assert again.status == "success" and again.retry_of == original


async def test_ping_and_describe(backend: DatabaseBackend) -> None:
    assert await backend.ping() is True
    assert backend.describe().startswith("django:// (")


@pytest.mark.parametrize("batch", [1, 12], ids=["one row", "a batch (COPY on PostgreSQL)"])
async def test_a_late_write_of_a_run_another_worker_took_over_keeps_its_result(
    backend: DatabaseBackend, batch: int
) -> None:
    """A worker cut off while it ran a task writes once healed; the worker that took the
    task over had stored its own final result, of a run that started later: it stays."""
    first = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    later = first + dt.timedelta(seconds=20)

    def run(task_id: str, status: TaskStatus, worker: str, started: dt.datetime) -> TaskResult:
        return result(task_id, status, worker=worker, started_at=started, result=worker)

    ids = [f"t{i}" for i in range(batch)]
    await backend.store([run(i, TaskStatus.SUCCESS, "b:2:new", later) for i in ids])
    await backend.store([run(i, TaskStatus.SUCCESS, "a:1:cut", first) for i in ids])
    await backend.store([run(i, TaskStatus.RUNNING, "a:1:cut", first) for i in ids])
    assert {r.worker for r in await backend.get_many(ids) if r} == {"b:2:new"}

    # a run that started later, the same worker, or a new submit still replace it
    await backend.store(
        [run(i, TaskStatus.FAILED, "c:3:rerun", later + (later - first)) for i in ids]
    )
    assert {r.status for r in await backend.get_many(ids) if r} == {TaskStatus.FAILED}
    await backend.store([run(i, TaskStatus.SUCCESS, "c:3:rerun", first) for i in ids])
    assert {r.status for r in await backend.get_many(ids) if r} == {TaskStatus.SUCCESS}
    await backend.store([result(i) for i in ids])
    await backend.store([run(i, TaskStatus.RUNNING, "a:1:cut", first) for i in ids])
    stored = [r for r in await backend.get_many(ids) if r]
    assert [(r.status, r.worker) for r in stored] == [(TaskStatus.RUNNING, "a:1:cut")] * batch
