"""Bad entries in the keys the Redis broker owns, dead sleepers, and the dead letters: the
broker keeps serving good messages, sets each bad entry aside once with its reason, and
never hands a message to a consumer that is gone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from flowrra import BrokerConfig, Task
from flowrra.brokers.redis import RedisBroker
from tests.waiting import until

from .conftest import Space

Factory = Callable[..., RedisBroker]


@pytest.fixture
async def brokers(r: Space) -> AsyncIterator[Factory]:
    made: list[RedisBroker] = []

    def make() -> RedisBroker:
        broker = RedisBroker(BrokerConfig(url=r.url))
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


def task(label: str, *, eta: float | None = None, queue: str = "default") -> Task:
    return Task(label, "record", (label,), {}, eta=eta, queue=queue)


async def drain(broker: RedisBroker, rounds: int = 5) -> list[str]:
    """Ids fetched (and acknowledged) over ``rounds`` fetches."""
    seen: list[str] = []
    for _ in range(rounds):
        deliveries = await broker.fetch(("default",), 100, 0)
        await broker.ack(deliveries)
        seen += [d.task.id for d in deliveries]
    return seen


async def test_a_bad_delayed_entry_is_dead_lettered_and_delayed_tasks_run_once(
    brokers: Factory, r: Space
) -> None:
    broker = brokers()
    await broker.connect()
    r.client.zadd(r.key("delayed"), {"no separators at all": 0})
    await broker.enqueue([task(f"later-{i}", eta=time.time() + 0.2) for i in range(5)])
    seen: list[str] = []

    async def all_due() -> bool:
        seen.extend(await drain(broker, 1))
        return len(seen) >= 5

    await until(all_due, 10, "the delayed tasks to become due")
    seen += await drain(broker)  # and none comes twice
    assert sorted(seen) == [f"later-{i}" for i in range(5)]
    assert r.client.zcard(r.key("delayed")) == 0
    dead = await broker.dead_letters()
    assert [(d["message"], d["reason"]) for d in dead] == [
        (
            "no separators at all",
            "malformed delayed entry: expected <queue>|<priority>|<message>",
        )
    ]


async def test_a_malformed_sleeper_entry_does_not_fail_a_submit(brokers: Factory, r: Space) -> None:
    producer, consumer = brokers(), brokers()
    await producer.connect()
    await consumer.connect()
    r.client.sadd(r.key("queues"), "default")
    r.client.hset(r.key("sleepers", "default"), "ghost", "not a number")

    await producer.enqueue([task("fine")])

    assert await drain(consumer, 1) == ["fine"]
    assert not r.client.exists(r.key("sleepers", "default"))


async def test_a_sleeper_that_died_is_never_handed_a_message(brokers: Factory, r: Space) -> None:
    doomed, producer, survivor = brokers(), brokers(), brokers()
    for broker in (doomed, producer, survivor):
        await broker.connect()
    await producer.enqueue([task("warm-up")])
    assert await drain(survivor, 1) == ["warm-up"]
    # the doomed consumer sleeps on the queue with a 1 s wait, then vanishes mid-wait
    sleeping = asyncio.create_task(doomed.fetch(("default",), 10, 1.0))
    await until(
        lambda: r.client.hexists(r.key("sleepers", "default"), doomed.consumer_id),
        10,
        "the doomed consumer to register as a sleeper",
    )
    sleeping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sleeping
    await asyncio.sleep(2.5)  # past the wait it announced, and the slack

    await producer.enqueue([task("after-death")])

    assert await drain(survivor, 1) == ["after-death"]
    assert not r.client.exists(r.key("held", doomed.consumer_id))


async def test_dead_letters_are_bounded_by_bytes_and_can_be_requeued_or_deleted(
    brokers: Factory, r: Space
) -> None:
    broker = brokers()
    broker.dead_letter_bytes, broker.dead_message_bytes = 20_000, 5_000
    await broker.connect()
    await broker.heartbeat({"id": "w"}, ttl=5)  # writes the bounds
    r.client.sadd(r.key("queues"), "default")
    huge = '{"pad": "' + "x" * 50_000 + '"}'
    r.client.rpush(r.key("q", "default", "0"), huge, *[b"junk-%d" % i for i in range(3)])
    unknown = Task("unknown-1", "not.registered", (), {})
    await broker.enqueue([unknown])
    deliveries = await broker.fetch(("default",), 10, 0)
    assert [d.task.id for d in deliveries] == ["unknown-1"]
    await broker.dead_letter(deliveries[0], "task 'not.registered' is not registered")

    dead = await broker.dead_letters()
    assert [d["message"][:6] for d in dead] == ['{"id":', "junk-2", "junk-1", "junk-0", '{"pad"']
    assert dead[-1]["truncated"] is True and len(dead[-1]["message"]) == 5_000
    assert int(r.client.get(r.key("dead", "bytes"))) <= 20_000
    with pytest.raises(ValueError, match="cannot be requeued"):
        await broker.requeue_dead_letter(dead[-1]["id"])
    with pytest.raises(ValueError, match="malformed"):
        await broker.requeue_dead_letter(dead[1]["id"])

    assert await broker.requeue_dead_letter(dead[0]["id"]) is True
    assert await broker.requeue_dead_letter(dead[0]["id"]) is False
    assert [d.task.id for d in await broker.fetch(("default",), 10, 0)] == ["unknown-1"]
    assert await broker.delete_dead_letter(dead[1]["id"]) is True
    assert await broker.delete_dead_letter(dead[1]["id"]) is False
    assert [d["message"] for d in await broker.dead_letters()][:2] == ["junk-1", "junk-0"]

    # many more than fit: the oldest go, the total stays within the bound
    r.client.rpush(r.key("q", "default", "0"), *[b"y" * 3_000 for _ in range(20)])
    assert await broker.fetch(("default",), 100, 0) == []
    assert int(r.client.get(r.key("dead", "bytes"))) <= 20_000
    assert len(await broker.dead_letters(1000)) <= 6
