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
