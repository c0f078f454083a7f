"""What only RedisBroker does, driven in-process: delayed messages promoted once among many
fetchers, released messages first, idempotent retries, per-queue visibility timeouts,
malformed entries in its lists, key prefixes, lost scripts and lost replies. What every
broker guarantees is in tests/contract/test_broker.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from flowrra import BackendConfig, BrokerConfig, Task, TaskResult, TaskStatus
from flowrra.backends.redis import RedisBackend
from flowrra.brokers import redis as redis_broker
from flowrra.brokers.redis import RedisBroker
from tests.waiting import until

from .conftest import Space, with_prefix

Factory = Callable[..., RedisBroker]


@pytest.fixture
async def brokers(r: Space) -> AsyncIterator[Factory]:
    """Brokers in the test's key space (unless ``url`` says otherwise), closed at the end."""
    made: list[RedisBroker] = []

    def make(url: str | None = None, **options: object) -> RedisBroker:
        url = url or r.url
        broker = RedisBroker(BrokerConfig(url=url, **options))  # type: ignore[arg-type]
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


def task(
    label: str, *, priority: int = 0, queue: str = "default", eta: float | None = None
) -> Task:
    return Task(label, "record", (label,), {}, priority=priority, queue=queue, eta=eta)


async def labels(
    broker: RedisBroker, queues: tuple[str, ...] = ("default",), n: int = 100
) -> list[str]:
    deliveries = await broker.fetch(queues, n, 0)
    await broker.ack(deliveries)
    return [d.task.id for d in deliveries]


async def test_a_delayed_message_moves_to_its_queue_once_with_many_fetchers(
    brokers: Factory,
) -> None:
    producer = brokers()
    consumers = [brokers() for _ in range(6)]
    for broker in (producer, *consumers):
        await broker.connect()
    due = time.time() + 0.3
    await producer.enqueue([task(f"t{i}", eta=due) for i in range(200)])
    assert await producer.scheduled_count() == 200
    assert await labels(consumers[0]) == []  # not due yet

    async def consume(broker: RedisBroker) -> list[str]:
        taken: list[str] = []
        while time.time() < due + 1.5:
            taken += await labels(broker, n=7)
            await asyncio.sleep(0)
        return taken

    taken = [label for part in await asyncio.gather(*map(consume, consumers)) for label in part]
    assert sorted(taken) == sorted(f"t{i}" for i in range(200))
    assert await producer.scheduled_count() == 0


async def test_released_messages_come_back_first(brokers: Factory) -> None:
    broker = brokers()
    await broker.connect()
    await broker.enqueue([task(f"t{i}") for i in range(5)])
    first = await broker.fetch(["default"], 2, 0)
    await broker.release(first)

    assert await labels(broker) == ["t0", "t1", "t2", "t3", "t4"]


async def test_retry_acknowledges_and_delays_the_next_attempt(brokers: Factory) -> None:
    broker = brokers()
    await broker.connect()
    await broker.enqueue([task("t")])
    [delivery] = await broker.fetch(["default"], 1, 0)
    next_try = task("t", eta=time.time() + 60)
    next_try.current_retry = 1
    await broker.retry(delivery, next_try)
    await broker.retry(delivery, next_try)  # a repeated call (a lost reply) enqueues nothing more

    assert await broker.scheduled_count() == 1
    assert await labels(broker) == []


async def test_a_message_held_past_its_visibility_timeout_is_delivered_again(
    brokers: Factory, r: Space
) -> None:
    stuck = brokers(r.url + "&visibility_timeout.slow=0.2")
    other = brokers()
    await stuck.connect()
    await other.connect()
    await stuck.enqueue([task("s", queue="slow"), task("d")])
    await stuck.heartbeat({"id": "stuck"}, ttl=30)
    held = await stuck.fetch(["slow", "default"], 10, 0)
    assert sorted(d.task.id for d in held) == ["d", "s"]

    async def delivered_again() -> list[str]:
        await other.heartbeat({"id": "other"}, ttl=30)
        return await labels(other, ("slow", "default"))

    assert await until(delivered_again, 10, "the 'slow' queue's timeout") == ["s"]  # "d": 1 h


async def test_malformed_messages_are_dead_lettered_with_the_reason(
    brokers: Factory, r: Space
) -> None:
    broker = brokers()
    await broker.connect()
    r.client.rpush(r.key("q", "default", "0"), b"not json", b'["a", "list"]', b'{"name": "no id"}')
    r.client.sadd(r.key("queues"), "default")
    await broker.enqueue([task("fine")])

    assert await labels(broker) == ["fine"]
    dead = await broker.dead_letters()
    assert [d["message"] for d in dead] == ['{"name": "no id"}', '["a", "list"]', "not json"]
    assert all(
        d["reason"].startswith("malformed message") and d["queue"] == "default" for d in dead
    )


async def test_the_key_prefix_separates_two_apps_on_one_database(
    brokers: Factory, r: Space
) -> None:
    first = brokers(queue_key=r.key("one"))
    second = brokers(with_prefix(r.url, r.key("two")))
    await first.connect()
    await second.connect()
    await first.enqueue([task("for-one")])

    assert await labels(second) == []
    assert await labels(first) == ["for-one"]


@pytest.mark.parametrize("still_loaded", ["none", "store", "enqueue"])
async def test_a_submit_stores_pending_and_enqueues_once_even_after_the_server_lost_its_scripts(
    brokers: Factory, r: Space, still_loaded: str
) -> None:
    """Submits run the store and enqueue scripts in one transaction; after a Redis restart
    (here SCRIPT FLUSH) whichever script the server lost is loaded and run once more alone."""
    broker = brokers()
    backend = RedisBackend(BackendConfig(url=r.url))
    await broker.connect()
    await backend.connect()
    try:
        r.client.script_flush()
        if still_loaded == "store":
            await backend.store([TaskResult("warm-up", TaskStatus.SUCCESS, "record")])
        elif still_loaded == "enqueue":
            await broker.enqueue([task("warm-up", queue="elsewhere")])
        tasks = [task("low"), task("high", priority=7)]
        pending = [TaskResult.for_task(t, TaskStatus.PENDING) for t in tasks]

        await broker.store_and_enqueue(backend, pending, tasks)

        stored = await backend.get_many(["low", "high"])
        assert [x.status if x else None for x in stored] == [TaskStatus.PENDING] * 2
        assert await labels(broker) == ["high", "low"]
        assert await labels(broker) == []
    finally:
        await backend.close()


async def test_a_batch_whose_fetch_reply_was_lost_is_given_back(
    brokers: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch that ran on the server while its reply was lost (the connection dropped) left
    messages held for a worker that never saw them; its heartbeat gives them back."""
    monkeypatch.setattr(redis_broker, "ORPHAN_AGE", 0.1)
    broker, other = brokers(), brokers()
    await broker.connect()
    await other.connect()
    await broker.enqueue([task("kept"), task("lost-1"), task("lost-2")])
    [kept] = await broker.fetch(["default"], 1, 0)
    # the same script the broker runs, but its reply is thrown away
    args = (broker.consumer_id, 10, 0, 0, 60, 3600, 0, "default", 3600)
    await broker.redis.script("fetch", broker.prefix, *args)
    assert await labels(other) == []

    async def given_back() -> list[str]:
        await broker.heartbeat({"id": "w"}, ttl=0.1)
        return await labels(broker)

    assert await until(given_back, 10, "the orphaned batch to age") == ["lost-1", "lost-2"]
    assert kept.task.id == "kept"
