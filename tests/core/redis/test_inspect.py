"""What the Redis broker tells the dashboard: levels per priority, delayed and held
messages, and dead letters with requeue and delete."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from flowrra import BrokerConfig, Task
from flowrra.brokers.redis import RedisBroker
from flowrra.brokers.stats import QueueLevel

from .conftest import Space


@pytest.fixture
async def broker(r: Space) -> AsyncIterator[RedisBroker]:
    made = RedisBroker(BrokerConfig(url=r.url))
    await made.connect()
    yield made
    await made.close()


def task(label: str, **options: object) -> Task:
    return Task(label, "record", (label,), {}, **options)  # type: ignore[arg-type]


async def test_levels_per_queue_and_priority_with_delayed_and_held(broker: RedisBroker) -> None:
    await broker.enqueue(
        [
            task("a", priority=9),
            task("b", priority=9),
            task("c"),
            task("d", queue="mail", priority=3),
            task("later", eta=time.time() + 600),
        ]
    )
    held = await broker.fetch(["mail"], 1, 0)
    assert [d.task.id for d in held] == ["d"]
    levels = await broker.queue_levels()
    assert levels == [
        QueueLevel("default", 0, 1, 1, 0),
        QueueLevel("default", 9, 2, 0, 0),
        QueueLevel("mail", 0, 0, 0, 1),
    ]


async def test_dead_letters_are_listed_requeued_and_deleted(broker: RedisBroker) -> None:
    assert broker.supports_dead_letters
    await broker.enqueue([task("one", queue="mail", priority=2), task("two")])
    for delivery in await broker.fetch(["mail", "default"], 2, 0):
        await broker.dead_letter(delivery, f"no task named {delivery.task.name!r}")
    letters = await broker.dead_letter_list()
    assert {letter.reason for letter in letters} == {"no task named 'record'"}
    by_queue = {letter.queue: letter for letter in letters}
    assert by_queue["mail"].priority == 2 and '"one"' in by_queue["mail"].message
    assert await broker.requeue_dead_letter(by_queue["mail"].id) is True
    assert await broker.requeue_dead_letter(by_queue["mail"].id) is False  # gone
    assert [d.task.id for d in await broker.fetch(["mail"], 5, 0)] == ["one"]
    assert await broker.delete_dead_letter(by_queue["default"].id) is True
    assert await broker.dead_letter_list() == []
    assert await broker.delete_dead_letter("nope") is False
