"""What only the django:// broker does, in one process: its redelivery log lines, worker
rows, malformed rows, revocations learned by heartbeat, the submit's transaction and the
idle wake-ups. What every broker guarantees is in tests/contract/test_broker.py."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from flowrra import BrokerConfig, Task
from flowrra.brokers.stats import WORKER_RETENTION
from flowrra.task import new_task_id, utcnow
from flowrra_django.brokers import DatabaseBroker
from flowrra_django.models import QueuedMessage, WorkerHeartbeat
from tests.waiting import until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def make_broker() -> AsyncIterator[Callable[..., object]]:
    opened: list[DatabaseBroker] = []

    async def make(visibility_timeout: float = 30.0) -> DatabaseBroker:
        broker = DatabaseBroker(BrokerConfig("django://", visibility_timeout=visibility_timeout))
        await broker.connect()
        opened.append(broker)
        return broker

    yield make
    for broker in opened:
        await broker.close()


@pytest.fixture
async def broker(make_broker: Callable[..., object]) -> DatabaseBroker:
    return await make_broker()  # type: ignore[misc,no-any-return]


def task(name: str = "add", **fields: object) -> Task:
    return Task(new_task_id(), name, (1,), {}, submitted_at=utcnow(), **fields)  # type: ignore[arg-type]


async def test_an_expired_claim_is_delivered_again(
    make_broker: Callable[..., object], caplog: pytest.LogCaptureFixture
) -> None:
    forgetful = await make_broker(visibility_timeout=0.2)  # type: ignore[misc]
    other = await make_broker()  # type: ignore[misc]
    lost = task()
    await forgetful.enqueue([lost])
    assert len(await forgetful.fetch(["default"], 1, 0)) == 1
    assert await other.fetch(["default"], 1, 0) == []
    with caplog.at_level(logging.WARNING, logger="flowrra_django.brokers"):
        again = await other.fetch(["default"], 1, 10)
    assert [d.task.id for d in again] == [lost.id]
    row = await QueuedMessage.objects.aget(task_id=lost.id)
    assert row.deliveries == 2 and row.claimed_by == other.consumer_id
    assert f"add[{lost.id}] delivered again (delivery 2): its worker stopped or died" in caplog.text


async def test_a_planned_retry_is_not_reported_as_a_redelivery(
    broker: DatabaseBroker, caplog: pytest.LogCaptureFixture
) -> None:
    first = task(max_retries=3)
    await broker.enqueue([first])
    for attempt in (1, 2):
        [delivery] = await broker.fetch(["default"], 1, 0)
        await broker.retry(delivery, dataclasses.replace(delivery.task, current_retry=attempt))
    with caplog.at_level(logging.INFO, logger="flowrra_django.brokers"):
        [third] = await broker.fetch(["default"], 1, 0)
    assert third.task.current_retry == 2
    assert "delivered again" not in caplog.text


async def test_a_dead_worker_is_listed_offline_until_the_retention_time_then_forgotten(
    make_broker: Callable[..., object],
) -> None:
    dead, alive = await make_broker(), await make_broker()  # type: ignore[misc]
    await dead.heartbeat({"id": "dead-worker"}, ttl=0.1)

    async def dead_worker_gone() -> bool:
        await alive.heartbeat({"id": "live-worker"}, ttl=30)
        return [w["id"] for w in await alive.list_workers()] == ["live-worker"]

    await until(dead_worker_gone, 10, "the dead worker's heartbeat to run out")
    # the dashboard lists it as offline until the retention time, then it is gone
    seen = {w["id"]: w["expires_at"] for w in await alive.workers_seen(3600)}
    assert set(seen) == {"dead-worker", "live-worker"} and seen["dead-worker"] < time.time()
    await WorkerHeartbeat.objects.filter(worker_id="dead-worker").aupdate(
        expires_at=utcnow() - dt.timedelta(seconds=WORKER_RETENTION + 1)
    )
    await alive.heartbeat({"id": "live-worker"}, ttl=30)
    assert not await WorkerHeartbeat.objects.filter(worker_id="dead-worker").aexists()


async def test_a_malformed_message_is_dropped_not_delivered(broker: DatabaseBroker) -> None:
    good = task()
    await QueuedMessage.objects.acreate(
        task_id="bad", queue="default", priority=9, available_at=0, payload={"no": "name"}
    )
    await broker.enqueue([good])
    assert [d.task.id for d in await broker.fetch(["default"], 10, 0)] == [good.id]
    assert not await QueuedMessage.objects.filter(task_id="bad").aexists()


async def test_ping_answers_while_the_database_does(broker: DatabaseBroker) -> None:
    assert await broker.ping() is True


async def test_a_worker_learns_that_a_message_it_holds_was_revoked(
    make_broker: Callable[..., object],
) -> None:
    holder, other = await make_broker(), await make_broker()  # type: ignore[misc]
    held, kept = task(), task()
    await holder.enqueue([held, kept])
    assert len(await holder.fetch(["default"], 2, 0)) == 2
    await other.revoke(held.id)
    assert held.id not in holder.revoked_ids
    await holder.heartbeat({"id": "holder"}, ttl=30)
    assert holder.revoked_ids == {held.id}
    assert await holder.fetch(["default"], 1, 0) == []
    assert holder.revoked_ids == {held.id}
    row = await QueuedMessage.objects.aget(task_id=held.id)
    assert row.revoked and row.claimed_by == holder.consumer_id


async def test_a_revoked_message_of_a_dead_worker_is_dropped(
    make_broker: Callable[..., object],
) -> None:
    dead = await make_broker(visibility_timeout=0.1)  # type: ignore[misc]
    other = await make_broker()  # type: ignore[misc]
    held = task()
    await dead.enqueue([held])
    assert len(await dead.fetch(["default"], 1, 0)) == 1
    await QueuedMessage.objects.filter(task_id=held.id).aupdate(revoked=True)

    async def dropped() -> bool:  # once the dead worker's claim runs out
        assert await other.fetch(["default"], 1, 0) == []
        return not await QueuedMessage.objects.aexists()

    await until(dropped, 10, "the revoked message to be dropped")


async def test_a_submit_writes_the_pending_result_and_the_message_in_one_transaction(
    broker: DatabaseBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowrra import BackendConfig, TaskResult, TaskStatus
    from flowrra_django.backends import DatabaseBackend

    backend = DatabaseBackend(BackendConfig("django://"))
    await backend.connect()
    try:
        sent = task()
        await broker.store_and_enqueue(
            backend, [TaskResult.for_task(sent, TaskStatus.PENDING)], [sent]
        )
        assert (await backend.get(sent.id)).status is TaskStatus.PENDING  # type: ignore[union-attr]
        assert [d.task.id for d in await broker.fetch(["default"], 10, 0)] == [sent.id]

        def refuse(rows: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(broker, "_insert", refuse)
        lost = task()
        with pytest.raises(RuntimeError, match="disk full"):
            await broker.store_and_enqueue(
                backend, [TaskResult.for_task(lost, TaskStatus.PENDING)], [lost]
            )
        assert await backend.get(lost.id) is None  # rolled back with the message
    finally:
        await backend.close()


async def test_an_enqueue_wakes_an_idle_worker_of_another_process_at_once(
    make_broker: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle fetch would next look at the queue in 60 s; another process's enqueue wakes
    it long before (PostgreSQL: a NOTIFY; SQLite: the database file changed)."""
    from flowrra_django import wakeups

    monkeypatch.setattr(wakeups, "FIRST_POLL", 60.0)
    idle: DatabaseBroker = await make_broker()  # type: ignore[assignment]
    producer: DatabaseBroker = await make_broker()  # type: ignore[assignment]
    idle.wakeups.poll_interval = 60.0
    sleeping = asyncio.Event()
    look_done = idle.wakeups._until_arrived

    async def until_arrived(*args: object) -> None:
        sleeping.set()
        await look_done(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(idle.wakeups, "_until_arrived", until_arrived)
    fetching = asyncio.create_task(idle.fetch(["default"], 10, 120))
    await asyncio.wait_for(sleeping.wait(), 20)  # the first look found nothing: it sleeps

    sent = task()
    await producer.enqueue([sent])

    taken = await asyncio.wait_for(fetching, 20)
    assert [d.task.id for d in taken] == [sent.id]
