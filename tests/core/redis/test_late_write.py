"""A worker's result write that was already on its way when the worker was cut off, and
reaches Redis only after its lease ran out and another worker ran the task and stored its
final result (a write held in TCP buffers during a network partition, delivered once the
network healed): the store keeps the new owner's result."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from flowrra import BackendConfig, BrokerConfig, Flowrra, TaskResult, TaskStatus
from flowrra.backends.redis import Fence, RedisBackend
from flowrra.brokers.base import Delivery
from flowrra.brokers.redis import RedisBroker
from flowrra.task import utcnow
from tests.waiting import until

from .conftest import Space
from .tasks_app import record


@pytest.fixture
async def parts(r: Space) -> AsyncIterator[tuple[RedisBroker, RedisBroker, RedisBackend]]:
    """The consumers of two workers, the one to be cut off and its rescuer, and the backend
    on the test's Redis."""
    cut, rescuer = RedisBroker(BrokerConfig(url=r.url)), RedisBroker(BrokerConfig(url=r.url))
    backend = RedisBackend(BackendConfig(url=r.url))
    for part in (cut, rescuer, backend):
        await part.connect()
    yield cut, rescuer, backend
    for part in (cut, rescuer, backend):
        await part.close()


def run(delivery: Delivery, status: TaskStatus, worker: str, started: dt.datetime) -> TaskResult:
    return TaskResult.for_task(
        delivery.task, status, started_at=started, worker=worker, result=worker
    )


async def test_a_late_write_of_a_run_another_worker_took_over_keeps_its_result(
    producer: Flowrra, parts: tuple[RedisBroker, RedisBroker, RedisBackend]
) -> None:
    cut, rescuer, backend = parts
    ids = [await producer.submit(record, label) for label in ("done", "running")]
    held = await cut.fetch(["default"], 10, 0)
    first = utcnow()
    await cut.store_and_ack(backend, [run(d, TaskStatus.RUNNING, "cut", first) for d in held], [])
    sent_under = Fence(cut.prefix, cut.consumer_id, cut.epoch)  # the write on its way
    late = [run(d, TaskStatus.SUCCESS, "cut", first) for d in held]

    await cut.heartbeat({"id": "cut"}, ttl=0.2)  # then nothing from it: its lease runs out

    async def taken_over() -> list[Delivery]:
        await rescuer.heartbeat({"id": "rescuer"}, ttl=30)
        return await rescuer.fetch(["default"], 10, 0)

    done, running = await until(taken_over, 10, "the rescuer to take both messages over")
    later = utcnow()
    await rescuer.store_and_ack(
        backend,
        [run(done, TaskStatus.SUCCESS, "rescuer", later)],
        [done],
    )
    await rescuer.store_and_ack(backend, [run(running, TaskStatus.RUNNING, "rescuer", later)], [])

    async def stored() -> list[tuple[str | None, TaskStatus]]:
        return [(s.worker, s.status) for s in await producer.backend_required.get_many(ids) if s]

    # the write arrives before the cut-off worker is back
    await cut.store_and_ack(backend, late, held)
    assert await stored() == [
        ("rescuer", TaskStatus.SUCCESS),  # kept: final, of a run that started later
        ("cut", TaskStatus.SUCCESS),  # stored: the rescuer's run had no final result yet
    ]
    # or after it is back and has renewed its lease
    assert await cut.heartbeat({"id": "cut"}, ttl=30) is True
    await rescuer.store_and_ack(backend, [run(running, TaskStatus.FAILED, "rescuer", later)], [])
    await backend.store([*late, run(held[0], TaskStatus.RUNNING, "cut", first)], fence=sent_under)
    assert await stored() == [("rescuer", TaskStatus.SUCCESS), ("rescuer", TaskStatus.FAILED)]

    # a late write of a run that started later, a worker's current write and a new submit
    # still replace a final result
    rerun = run(held[0], TaskStatus.FAILED, "cut", later + dt.timedelta(seconds=1))
    await backend.store([rerun], fence=sent_under)
    assert (await stored())[0] == ("cut", TaskStatus.FAILED)
    await rescuer.store_and_ack(backend, [run(done, TaskStatus.SUCCESS, "rescuer", later)], [])
    await cut.store_and_ack(backend, late[:1], [])
    assert (await stored())[0] == ("cut", TaskStatus.SUCCESS)
    await producer.options(task_id=ids[0]).submit(record, "again")
    assert (await stored())[0] == (None, TaskStatus.PENDING)
