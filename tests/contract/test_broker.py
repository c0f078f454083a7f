"""What every broker guarantees (docs/guarantees.md), driven through ``BaseBroker`` alone:
order, queues, batch fetch, delays, acknowledgement, leases and redelivery, revocation, dead
letters, and the one-step store-and-ack and store-and-enqueue. Behaviour of one broker only
lives beside it (tests/core/redis/test_broker.py, tests/django/test_broker.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from flowrra import Task, TaskResult, TaskStatus
from flowrra.backends.memory import MemoryBackend
from flowrra.brokers.base import BaseBroker
from tests.waiting import until

from .conftest import BackendFactory, BrokerFactory


def task(
    label: str, *, priority: int = 0, queue: str = "default", eta: float | None = None
) -> Task:
    return Task(label, "record", (label,), {}, priority=priority, queue=queue, eta=eta)


async def take(
    broker: BaseBroker, queues: tuple[str, ...] = ("default",), n: int = 100
) -> list[str]:
    """The ids of what ``broker`` hands out now, acknowledged."""
    deliveries = await broker.fetch(queues, n, 0)
    await broker.ack(deliveries)
    return [d.task.id for d in deliveries]


def durable_only(broker: BaseBroker) -> None:
    if not broker.durable:
        pytest.skip(f"{type(broker).__name__} is not durable: a fetched message is the worker's")


async def test_highest_priority_first_and_fifo_within_a_priority(brokers: BrokerFactory) -> None:
    broker = await brokers()
    await broker.enqueue([task("low-1"), task("high-1", priority=9)])
    await broker.enqueue([task("mid", priority=5), task("low-2"), task("high-2", priority=9)])

    assert await take(broker) == ["high-1", "high-2", "mid", "low-1", "low-2"]
    assert await take(broker) == []


async def test_a_consumer_takes_only_its_queues_ranked_by_priority(brokers: BrokerFactory) -> None:
    broker = await brokers()
    await broker.enqueue(
        [
            task("a0", queue="alpha"),
            task("b7", queue="beta", priority=7),
            task("c9", queue="gamma", priority=9),
        ]
    )
    assert (await broker.queue_sizes()).get("gamma") == 1

    assert await take(broker, ("alpha", "beta")) == ["b7", "a0"]
    assert {q: n for q, n in (await broker.queue_sizes()).items() if n} == {"gamma": 1}
    assert await take(broker, ()) == ["c9"]  # no queues: every queue


async def test_a_batch_fetch_takes_at_most_its_count_and_no_two_fetches_share_a_message(
    brokers: BrokerFactory,
) -> None:
    one, two = await brokers(), await brokers()
    await one.enqueue([task(f"t{i:02}") for i in range(40)])

    first = await one.fetch(["default"], 7, 0)
    assert [d.task.id for d in first] == [f"t{i:02}" for i in range(7)]
    batches = await asyncio.gather(*(b.fetch(["default"], 7, 0) for b in [one, two] * 3))
    ids = [d.task.id for batch in [first, *batches] for d in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_a_delayed_message_waits_for_its_eta(brokers: BrokerFactory) -> None:
    broker = await brokers()
    later = task("later", eta=time.time() + 0.3)
    await broker.enqueue([later])
    assert await take(broker) == []
    assert await broker.scheduled_count() == 1

    taken = await broker.fetch(["default"], 10, 10)  # waits for the eta, not the timeout

    assert [d.task.id for d in taken] == ["later"] and time.time() >= later.eta  # type: ignore[operator]
    assert await broker.scheduled_count() == 0


async def test_a_waiting_fetch_is_handed_a_message_enqueued_meanwhile(
    brokers: BrokerFactory,
) -> None:
    consumer, producer = await brokers(), await brokers()
    fetching = asyncio.create_task(consumer.fetch(["default"], 10, 30))
    await asyncio.sleep(0.05)  # most likely the fetch is waiting by now; it holds either way

    await producer.enqueue([task("late")])

    assert [d.task.id for d in await asyncio.wait_for(fetching, 10)] == ["late"]


async def test_wakeup_makes_a_waiting_fetch_return_at_once(brokers: BrokerFactory) -> None:
    broker = await brokers()
    fetching = asyncio.create_task(broker.fetch(["default"], 10, 60))

    def woken() -> bool:
        broker.wakeup()  # again until the fetch has begun waiting and returns
        return fetching.done()

    await until(woken, 10, "the fetch to return")
    assert fetching.result() == []


async def test_ack_forgets_release_gives_back_and_retry_schedules_the_next_attempt(
    brokers: BrokerFactory,
) -> None:
    broker = await brokers()
    await broker.enqueue([task(f"t{i}") for i in range(5)])
    done, given_back, failed = await broker.fetch(["default"], 3, 0)

    await broker.ack([done])
    await broker.release([given_back])
    await broker.retry(
        failed, dataclasses.replace(failed.task, current_retry=1, eta=time.time() + 60)
    )

    assert sorted(await take(broker)) == ["t1", "t3", "t4"]
    assert await broker.scheduled_count() == 1


async def test_messages_of_a_consumer_whose_lease_ran_out_go_to_another(
    brokers: BrokerFactory,
) -> None:
    dead, alive = await brokers(), await brokers()
    durable_only(dead)
    await dead.enqueue([task(f"t{i}") for i in range(3)])
    await dead.heartbeat({"id": "dead-worker"}, ttl=0.2)
    assert len(await dead.fetch(["default"], 10, 0)) == 3
    assert await take(alive) == []

    async def reclaimed() -> list[str]:
        await alive.heartbeat({"id": "live-worker"}, ttl=30)  # a heartbeat reclaims
        return await take(alive)

    assert await until(reclaimed, 10, "the dead consumer's lease to run out") == ["t0", "t1", "t2"]
    assert [w["id"] for w in await alive.list_workers()] == ["live-worker"]


async def test_a_message_held_past_its_visibility_timeout_is_delivered_again(
    brokers: BrokerFactory,
) -> None:
    stuck, other = await brokers(visibility_timeout=0.2), await brokers()
    durable_only(stuck)
    await stuck.enqueue([task("slow")])
    await stuck.heartbeat({"id": "stuck-worker"}, ttl=30)  # alive, but holding too long
    assert len(await stuck.fetch(["default"], 10, 0)) == 1

    async def delivered_again() -> list[str]:
        await other.heartbeat({"id": "other-worker"}, ttl=30)
        return await take(other)

    assert await until(delivered_again, 10, "the visibility timeout") == ["slow"]


async def test_forget_worker_gives_back_what_a_stopping_worker_holds(
    brokers: BrokerFactory,
) -> None:
    stopping, other = await brokers(), await brokers()
    durable_only(stopping)
    await stopping.enqueue([task("t0"), task("t1")])
    await stopping.heartbeat({"id": "w1", "queues": ["default"]}, ttl=30)
    assert len(await stopping.fetch(["default"], 10, 0)) == 2
    assert [w["queues"] for w in await other.list_workers()] == [["default"]]

    await stopping.forget_worker("w1")

    assert await other.list_workers() == []
    assert await take(other) == ["t0", "t1"]


async def test_revoked_messages_are_never_delivered(brokers: BrokerFactory) -> None:
    producer, consumer = await brokers(), await brokers()
    eta = time.time() + 0.2
    await producer.enqueue([task("keep"), task("drop"), task("later", eta=eta)])
    await producer.revoke("drop")
    await producer.revoke("later")

    assert await take(consumer) == ["keep"]
    await until(lambda: time.time() > eta, what="the revoked delayed message to become due")
    assert await take(consumer) == []
    assert await consumer.scheduled_count() == 0


async def test_a_dead_letter_is_kept_with_its_reason_and_can_be_requeued_or_deleted(
    brokers: BrokerFactory,
) -> None:
    broker = await brokers()
    await broker.enqueue([task("unknown", queue="mail", priority=3), task("another")])
    # by id: across the shards of a cluster the two queues come back in either order
    fetched = {d.task.id: d for d in await broker.fetch(["default", "mail"], 2, 0)}
    await broker.dead_letter(fetched["unknown"], "unknown task 'record'")
    await broker.dead_letter(fetched["another"], "unknown task 'record'")
    assert await take(broker, ("default", "mail")) == []
    if not broker.supports_dead_letters:
        assert await broker.dead_letters() == []  # set aside means dropped here
        return

    letters = await broker.dead_letters()
    assert letters[0]["at"] >= letters[1]["at"]  # newest first
    # by task: shards' letters stamped within the same 100 us may come in either order
    by_task = {Task.from_message(json.loads(letter["message"])).id: letter for letter in letters}
    mail, other = by_task["unknown"], by_task["another"]
    assert (mail["queue"], mail["priority"], mail["reason"]) == (
        "mail",
        3,
        "unknown task 'record'",
    )
    assert await broker.requeue_dead_letter(mail["id"]) is True
    assert await broker.requeue_dead_letter(mail["id"]) is False  # gone
    assert await broker.delete_dead_letter(other["id"]) is True
    assert await broker.delete_dead_letter(other["id"]) is False
    assert await broker.delete_dead_letter("nope") is False
    assert await broker.dead_letters() == []
    assert await take(broker, ("mail",)) == ["unknown"]


async def test_results_are_stored_and_their_messages_acknowledged_in_one_step(
    brokers: BrokerFactory, backends: BackendFactory
) -> None:
    broker, other = await brokers(visibility_timeout=0.1), await brokers()
    backend = await backends()
    await broker.enqueue([task("a"), task("b")])
    here, elsewhere = await broker.fetch(["default"], 2, 0)

    await broker.store_and_ack(backend, [TaskResult("a", TaskStatus.SUCCESS, "record")], [here])
    other_store = MemoryBackend()  # a backend on another server: stored, then acknowledged
    await broker.store_and_ack(
        other_store, [TaskResult("b", TaskStatus.SUCCESS, "record")], [elsewhere]
    )

    assert (await backend.get("a")).status is TaskStatus.SUCCESS  # type: ignore[union-attr]
    assert (await other_store.get("b")).status is TaskStatus.SUCCESS  # type: ignore[union-attr]
    await asyncio.sleep(0.2)  # past the visibility timeout: nothing is left to hand back
    await other.heartbeat({"id": "other-worker"}, ttl=30)
    assert await take(other) == []


async def test_a_submit_stores_the_pending_results_and_enqueues_once(
    brokers: BrokerFactory, backends: BackendFactory
) -> None:
    broker, backend = await brokers(), await backends()
    tasks = [task("low"), task("high", priority=7)]

    await broker.store_and_enqueue(
        backend, [TaskResult.for_task(t, TaskStatus.PENDING) for t in tasks], tasks
    )

    stored = await backend.get_many(["low", "high"])
    assert [x.status if x else None for x in stored] == [TaskStatus.PENDING] * 2
    assert await take(broker) == ["high", "low"]
    assert await take(broker) == []


async def test_a_submit_from_a_thread_without_a_loop_writes_all_or_says_it_cannot(
    brokers: BrokerFactory, backends: BackendFactory
) -> None:
    broker, backend = await brokers(), await backends()
    tasks = [task("low"), task("high", priority=7)]
    pending = [TaskResult.for_task(t, TaskStatus.PENDING) for t in tasks]

    def in_a_view() -> bool:  # a thread of its own, as a sync Django view calls it
        try:
            return broker.store_and_enqueue_here(backend, pending, tasks)
        finally:
            connections.close_all()  # what a request's end does, for django://

    with ThreadPoolExecutor(1) as thread:
        written = await asyncio.wrap_future(thread.submit(in_a_view))

    stored = await backend.get_many(["low", "high"])
    if not written:  # this broker cannot: then nothing was written
        assert stored == [None, None] and await take(broker) == []
        return
    assert [x.status if x else None for x in stored] == [TaskStatus.PENDING] * 2
    assert await take(broker) == ["high", "low"]


async def test_a_fire_and_forget_submit_from_a_thread_enqueues_without_a_record(
    brokers: BrokerFactory, backends: BackendFactory
) -> None:
    broker, backend = await brokers(), await backends()

    def in_a_view() -> bool:  # no PENDING records: tasks declared ignore_result=True
        try:
            return broker.store_and_enqueue_here(backend, [], [task("quiet")])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as thread:
        written = await asyncio.wrap_future(thread.submit(in_a_view))

    assert await take(broker) == (["quiet"] if written else [])
    assert await backend.get("quiet") is None
