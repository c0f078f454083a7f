"""django:// dead letters: a malformed message is set aside with its reason, the rest of its
batch is served, and the dead letters stay bounded. Requeueing and deleting them is in
tests/contract/test_broker.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from flowrra import BrokerConfig, Task
from flowrra.task import new_task_id
from flowrra_django import sql
from flowrra_django.brokers import _INSERT_FIELDS, DatabaseBroker
from flowrra_django.models import DeadLetter, QueuedMessage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def broker() -> AsyncIterator[DatabaseBroker]:
    made = DatabaseBroker(BrokerConfig("django://", visibility_timeout=30))
    await made.connect()
    yield made
    await made.close()


def task(name: str = "add") -> Task:
    return Task(new_task_id(), name, (1, 2), {})


@sync_to_async
def queue_raw(*payloads: str) -> None:
    """Messages written straight into the queue table, as a hostile producer could."""
    rows = [("t", "default", 0, True, 0.0, p, 0, False, "2026-01-01 00:00:00") for p in payloads]
    connection = connections["default"]
    if connection.vendor == "postgresql":
        rows = [(*row[:-1], "2026-01-01T00:00:00+00:00") for row in rows]
    sql.insert(connection, QueuedMessage, _INSERT_FIELDS, rows)


async def test_a_deeply_nested_message_is_dead_lettered_and_its_batch_is_served(
    broker: DatabaseBroker,
) -> None:
    if connections["default"].vendor == "mysql":
        pytest.skip("MariaDB/MySQL refuse JSON this deep at insert: it never reaches the queue")
    good = [task() for _ in range(50)]
    # deeper than Python's recursion limit, within what SQLite's JSON_VALID accepts
    await queue_raw('{"id": "deep", "args": ' + "[" * 1500 + "]" * 1500 + "}")
    await broker.enqueue(good)

    taken = await broker.fetch(["default"], 100, 0)

    assert sorted(d.task.id for d in taken) == sorted(t.id for t in good)
    dead = await broker.dead_letters()
    assert len(dead) == 1 and "nested too deeply" in dead[0]["reason"]
    assert await QueuedMessage.objects.acount() == 50


async def test_malformed_messages_are_kept_as_dead_letters_with_their_reason(
    broker: DatabaseBroker,
) -> None:
    await queue_raw('"just a string"', '{"name": "no id"}', "[1, 2]")
    fine = task()
    await broker.enqueue([fine])

    assert [d.task.id for d in await broker.fetch(["default"], 10, 0)] == [fine.id]
    dead = await broker.dead_letters()
    assert len(dead) == 3
    assert all(d["reason"].startswith("malformed message") for d in dead)
    assert {d["message"].replace(" ", "") for d in dead} == {
        '"justastring"',
        '{"name":"noid"}',
        "[1,2]",
    }


async def test_dead_letters_are_bounded_by_count_and_by_bytes(broker: DatabaseBroker) -> None:
    broker.dead_letter_limit, broker.dead_letter_bytes, broker.dead_message_bytes = 5, 9_000, 4_000
    await queue_raw('{"pad": "' + "x" * 10_000 + '"}')
    assert await broker.fetch(["default"], 10, 0) == []
    huge = (await broker.dead_letters())[0]
    assert huge["truncated"] is True and len(huge["message"]) == 4_000
    with pytest.raises(ValueError, match="cannot be requeued"):
        await broker.requeue_dead_letter(huge["id"])

    await queue_raw(*[f'"junk-{i}"' for i in range(8)])
    assert await broker.fetch(["default"], 10, 0) == []
    kept = await broker.dead_letters(100)
    assert [d["message"] for d in kept] == [f'"junk-{i}"' for i in range(7, 2, -1)]

    await queue_raw(*['"' + "y" * 3_000 + '"' for _ in range(4)])
    assert await broker.fetch(["default"], 10, 0) == []
    sizes = [row.size async for row in DeadLetter.objects.all()]
    assert sum(sizes) <= 9_000 and len(sizes) == 2  # three would be 9,006 bytes
