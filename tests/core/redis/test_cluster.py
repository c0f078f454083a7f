"""The Redis broker and result backend on a real Redis Cluster that the tests start (three
masters with a replica each, on loopback): every key of an app in one slot, the broker's
guarantees there, and a master failover in the middle of a drain losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from flowrra import BackendConfig, BrokerConfig, Flowrra, Task, TaskResult, TaskStatus
from flowrra.backends.redis import RedisBackend
from flowrra.backends.redis_shards import ClusterBackend
from flowrra.brokers.redis import RedisBroker
from flowrra.brokers.redis_shards import ClusterBroker
from flowrra.options import SubmitOptions
from flowrra.task import utcnow
from tests.services import unavailable
from tests.waiting import wait_until

from .cluster import ClusterServers
from .conftest import WorkerProcess, make_app, with_prefix
from .tasks_app import nap, record
from .test_control_cli import APP, flowrra

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """Three masters with a replica each, for this module's tests."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        unavailable("redis-server and redis-cli are not installed")
    with ClusterServers(tmp_path_factory.mktemp("cluster"), replicas=True) as servers:
        yield servers


@pytest.fixture
def url(cluster: ClusterServers) -> str:
    """A cluster URL with a key prefix of the test's own."""
    return with_prefix(cluster.url, f"t{secrets.token_hex(4)}")


def task(label: str, *, priority: int = 0, eta: float | None = None) -> Task:
    return Task(label, "record", (label,), {}, priority=priority, eta=eta)


def slots_of(cluster: ClusterServers, prefix: str) -> set[int]:
    client = cluster.client()
    try:
        return {key_slot(key) for key in client.scan_iter(match=f"{prefix}*", count=1000)}
    finally:
        client.close()


async def test_every_key_of_an_app_lives_in_one_slot_where_the_broker_keeps_its_promises(
    cluster: ClusterServers, url: str
) -> None:
    broker, other = RedisBroker(BrokerConfig(url=url)), RedisBroker(BrokerConfig(url=url))
    backend = RedisBackend(BackendConfig(url=url))
    for part in (broker, other, backend):
        await part.connect()
    try:
        tasks = [task("low-1"), task("high", priority=9), task("low-2"), task("mid", priority=4)]
        tasks.append(task("later", eta=await _server_time(broker) + 0.3))
        pending = [TaskResult.for_task(t, TaskStatus.PENDING) for t in tasks]
        await broker.store_and_enqueue(backend, pending, tasks)
        await broker.heartbeat({"id": "w1"}, ttl=30)

        got = await broker.fetch(["default"], 10, 0)
        assert [d.task.id for d in got] == ["high", "mid", "low-1", "low-2"]
        done = [TaskResult.for_task(d.task, TaskStatus.SUCCESS) for d in got[:3]]
        await broker.store_and_ack(backend, done, got[:3])
        await broker.dead_letter(got[3], "poison")
        assert [d.task.id for d in await other.fetch(["default"], 10, 2)] == ["later"]

        # a consumer that dies holding a message: its lease runs out and another gets it
        await broker.enqueue([task("orphan")])
        [held] = await broker.fetch(["default"], 1, 0)
        await broker.heartbeat({"id": "w1"}, ttl=0.2)
        await asyncio.sleep(0.3)
        await other.heartbeat({"id": "w2"}, ttl=30)
        [taken] = await other.fetch(["default"], 10, 0)
        assert taken.task.id == held.task.id
        # and its result write, sent before its lease ran out and delivered late, leaves the
        # final result of the later run in place
        began = utcnow()
        later = TaskResult.for_task(taken.task, TaskStatus.SUCCESS, started_at=began, worker="w2")
        await other.store_and_ack(backend, [later], [taken])
        early = began - dt.timedelta(seconds=1)
        late = TaskResult.for_task(held.task, TaskStatus.SUCCESS, started_at=early, worker="w1")
        await broker.store_and_ack(backend, [late], [held])
        assert (await backend.get("orphan")) == later

        assert [d["message"][:20] for d in await broker.dead_letters()] == ['{"id":"low-2","name"']
        stored = await backend.get_many(["high", "mid", "low-1", "low-2"])
        assert [x.status if x else None for x in stored] == [TaskStatus.SUCCESS] * 3 + [
            TaskStatus.PENDING
        ]
        assert len(slots_of(cluster, broker.prefix)) == 1
    finally:
        for part in (broker, other, backend):
            await part.close()


async def _server_time(broker: RedisBroker) -> float:
    seconds, micros = await broker.redis.runner.execute("TIME")
    return int(seconds) + int(micros) / 1e6


async def test_a_master_failover_in_the_middle_of_a_drain_loses_nothing(
    cluster: ClusterServers, url: str, tmp_path: Path
) -> None:
    """``CLUSTER FAILOVER`` on the replica of the master that serves the app's slot while two
    workers drain, and more tasks submitted after it: every task runs (at least once) and
    every result is stored. (A task whose own Redis write fails in the failover is retried.)"""
    async with draining(cluster, url, tmp_path) as (app, client):
        before = [f"before-{i}" for i in range(1500)]
        ids = await app.submit_many([(record, (label,), {}, None) for label in before])
        assert isinstance(app.broker, ClusterBroker)
        prefix = app.broker.shards[0].prefix
        executions = f"{prefix}:executions"
        wait_until(lambda: client.llen(executions) >= 20, 30, "the drain to start")
        master = cluster.master_of(prefix)
        cluster.fail_over(cluster.replica_of(master))
        assert cluster.master_of(prefix) != master
        after = [f"after-{i}" for i in range(200)]
        ids += await app.submit_many([(record, (label,), {}, None) for label in after])

        results = [await app.wait_for_result(task_id, timeout=60) for task_id in ids]
        assert {r.status for r in results} == {TaskStatus.SUCCESS}
        ran = {x.decode() for x in client.lrange(executions, 0, -1)}
        assert ran == set(before + after)


@contextlib.asynccontextmanager
async def draining(
    cluster: ClusterServers, url: str, tmp_path: Path
) -> AsyncIterator[tuple[Flowrra, RedisCluster]]:
    """A producer app and two worker processes on ``url``, and a client to look at keys."""
    app = make_app(url)
    await app.start(worker=False)
    workers = [
        WorkerProcess("--io-workers", "4", url=url, log=tmp_path / f"w{i}.log") for i in range(2)
    ]
    client = cluster.client()
    try:
        yield app, client
    finally:
        client.close()
        for worker in workers:
            worker.kill()
        await app.stop()


async def test_queues_spread_over_three_hash_tags_keep_each_queues_guarantees(
    cluster: ClusterServers, url: str
) -> None:
    """``shards=3``: the queues live on three tags on three masters; order within a queue,
    delays, dead letters, revocation and waiting for work hold as on one Redis."""
    url += "&shards=3"
    broker, other = ClusterBroker(BrokerConfig(url=url)), ClusterBroker(BrokerConfig(url=url))
    await broker.connect()
    await other.connect()
    try:
        queues = [f"q{i}" for i in range(6)]
        assert len({broker.shard_for(q) for q in queues}) == 3
        shards = [s.prefix for s in broker.shards]
        assert len({cluster.master_of(prefix) for prefix in shards}) == 3

        await broker.enqueue([_on(q, f"{q}-low") for q in queues])
        await broker.enqueue([_on(q, f"{q}-high", priority=5) for q in queues])
        await broker.enqueue([_on("q0", "later", eta=await _server_time(broker.shards[0]) + 1.5)])
        await broker.revoke("q1-low")
        got = [d.task.id for d in await broker.fetch(queues, 100, 0)]
        assert sorted(got) == sorted([f"{q}-{p}" for q in queues for p in ("low", "high")
                                      if f"{q}-{p}" != "q1-low"])  # fmt: skip
        for q in queues:
            mine = [label for label in got if label.startswith(f"{q}-")]
            assert mine == [f"{q}-high", f"{q}-low"][: len(mine)]
        assert await broker.queue_sizes() == dict.fromkeys(queues, 0)

        assert [d.task.id for d in await other.fetch(["q0"], 10, 4)] == ["later"]

        await broker.enqueue([_on("q4", "poison")])
        [poison] = await broker.fetch(["q4"], 1, 0)
        await broker.dead_letter(poison, "no such task")
        [letter] = await broker.dead_letters()
        assert letter["reason"] == "no such task"
        assert await broker.requeue_dead_letter(letter["id"]) is True
        assert [d.task.id for d in await other.fetch(["q4"], 10, 0)] == ["poison"]

        # a waiting fetch over every shard takes what arrives on any of them
        waiting = asyncio.ensure_future(other.fetch(queues, 10, 5))
        await asyncio.sleep(0.2)
        await broker.enqueue([_on("q3", "woken")])
        assert [d.task.id for d in await waiting] == ["woken"]
        for prefix in shards:
            assert len(slots_of(cluster, prefix)) == 1
    finally:
        await broker.close()
        await other.close()


def _on(queue: str, label: str, *, priority: int = 0, eta: float | None = None) -> Task:
    return Task(label, "record", (label,), {}, priority=priority, queue=queue, eta=eta)


async def test_workers_drain_queues_spread_over_shards(
    cluster: ClusterServers, url: str, tmp_path: Path
) -> None:
    url += "&shards=3"
    app = make_app(url)
    await app.start(worker=False)
    queues = ["a", "b", "default", "c"]  # shards 0, 2, 1, 0
    worker = WorkerProcess("--queues", ",".join(queues), url=url, log=tmp_path / "w.log")
    try:
        ids = await app.submit_many(
            [(record, (f"t{i}",), {}, SubmitOptions(queue=queues[i % 4])) for i in range(200)]
        )
        results = [await app.wait_for_result(task_id, timeout=60) for task_id in ids]
        assert {r.status for r in results} == {TaskStatus.SUCCESS}
        # each result lives beside its queue's messages, and the backend merges the shards
        backend = app.backend
        assert isinstance(backend, ClusterBackend)
        per_shard = [(await shard.counts())[TaskStatus.SUCCESS] for shard in backend.shards]
        assert per_shard == [100, 50, 50]
        assert (await backend.counts())[TaskStatus.SUCCESS] == 200
        listed = await backend.list([TaskStatus.SUCCESS], limit=150, offset=100)
        assert len(listed) == 100 and len({r.task_id for r in listed}) == 100

        # remote control works across the shards (its mailboxes live on the first)
        shown = flowrra(url, "inspect", "workers", "--app", APP)
        [worker_id] = [line.split()[0] for line in shown.stdout.splitlines() if "queues:" in line]
        paused = flowrra(url, "control", "--app", APP, "pause", "b", "--worker", worker_id)
        expected = f"{worker_id}: ok: stopped taking tasks from 'b'"
        assert paused.stdout.strip() == expected, paused.stdout + paused.stderr
    finally:
        worker.kill()
        await app.stop()


async def test_workers_carry_on_when_the_master_named_in_the_url_is_killed(
    cluster: ClusterServers, tmp_path: Path
) -> None:
    """``kill -9`` of the master serving the app's slot, one of the two nodes the URL names,
    in the middle of a drain: the workers find the promoted replica (they learned every node
    from the cluster's map) and every task's result is stored. (Runs last: the cluster keeps
    that slot range without a replica.)"""
    named = next(port for port in cluster.ports[:2] if cluster.is_master(port))
    prefix = next(
        p for p in (f"t{secrets.token_hex(4)}" for _ in range(1000))
        if cluster.master_of("{" + p + "}") == named
    )  # fmt: skip
    async with draining(cluster, with_prefix(cluster.url, prefix), tmp_path) as (app, client):
        # tasks that do not write to Redis themselves (that write would fail in the failover)
        ids = await app.submit_many([(nap, (0.001,), {}, None) for _ in range(1500)])
        successes = "{" + prefix + "}:status:success"
        wait_until(lambda: client.zcard(successes) >= 20, 30, "the drain to start")
        cluster.kill(named)

        results = [await app.wait_for_result(task_id, timeout=60) for task_id in ids]
        assert {r.status for r in results} == {TaskStatus.SUCCESS}
        assert cluster.master_of("{" + prefix + "}") != named
