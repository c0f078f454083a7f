"""django:// on PostgreSQL when the server ends the session of a process: a submit is
retried once on a fresh connection instead of failing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from flowrra import BrokerConfig, Task, TaskResult, TaskStatus
from flowrra.task import new_task_id
from flowrra_django.backends import DatabaseBackend
from flowrra_django.brokers import DatabaseBroker
from flowrra_django.database_thread import database_thread
from flowrra_django.models import QueuedMessage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
async def pair() -> AsyncIterator[tuple[DatabaseBroker, DatabaseBackend]]:
    if connections["default"].vendor != "postgresql":
        pytest.skip("PostgreSQL only (FLOWRRA_TEST_DB=postgres): it ends sessions on demand")
    broker = DatabaseBroker(BrokerConfig("django://"))
    backend = DatabaseBackend()
    await broker.connect()
    await backend.connect()
    yield broker, backend
    await backend.close()
    await broker.close()


def _backend_pid() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    """End one session of this test's own database, as an administrator or a failover would."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_a_submit_whose_session_was_terminated_is_retried_on_a_fresh_connection(
    pair: tuple[DatabaseBroker, DatabaseBackend],
) -> None:
    broker, backend = pair
    first = Task(new_task_id(), "add", (1, 2), {})
    await broker.store_and_enqueue(
        backend, [TaskResult.for_task(first, TaskStatus.PENDING)], [first]
    )
    terminate(await database_thread.run(_backend_pid))

    second = Task(new_task_id(), "add", (3, 4), {})
    await broker.store_and_enqueue(
        backend, [TaskResult.for_task(second, TaskStatus.PENDING)], [second]
    )
    third = Task(new_task_id(), "add", (5, 6), {})
    terminate(await database_thread.run(_backend_pid))
    await broker.enqueue([third])

    queued = [m.task_id async for m in QueuedMessage.objects.order_by("id")]
    assert queued == [first.id, second.id, third.id]
    assert (await backend.get(second.id)) is not None
