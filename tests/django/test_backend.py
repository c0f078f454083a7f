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
