"""Worker processes on Redis (``python -m flowrra worker``): crash recovery, graceful stop,
order across processes, revocation, poison messages and a Redis restart."""

from __future__ import annotations

import asyncio
import collections
import signal
from collections.abc import Callable
from pathlib import Path

import redis

from flowrra import Flowrra, TaskStatus
from tests.waiting import until

from .conftest import RedisServer, Space, WorkerProcess, make_app, with_prefix
from .tasks_app import cpu_sleep, flaky, nap, record, slow

Workers = Callable[..., WorkerProcess]


async def wait_all(app: Flowrra, ids: list[str], timeout: float = 30) -> list[TaskStatus]:
    results = await asyncio.gather(*(app.wait_for_result(i, timeout=timeout) for i in ids))
    return [result.status for result in results]


async def test_tasks_held_by_a_killed_worker_are_finished_by_another(
    producer: Flowrra,
    workers: Workers,
    r: Space,
    record_property: Callable[[str, object], None],
) -> None:
    labels = [f"s{i}" for i in range(24)]
    ids = [await producer.submit(slow, label, 0.2) for label in labels]
    doomed = workers("--io-workers", "4", "--prefetch", "8")
    await until(lambda: len(r.executions()) >= 2, what="the first worker to finish some tasks")

    doomed.signal(signal.SIGKILL)
    doomed.wait()
    held_at_death = len(labels) - len(r.executions())
    workers("--io-workers", "8")

    assert await wait_all(producer, ids) == [TaskStatus.SUCCESS] * len(ids)
    ran = collections.Counter(r.executions())
    assert set(ran) == set(labels)  # none lost
    duplicates = sum(ran.values()) - len(labels)
    record_property("duplicates", duplicates)
    print(f"SIGKILL with {held_at_death} tasks unfinished: {duplicates} ran twice")
    assert await producer.broker_required.queue_sizes() == {"default": 0}


async def test_sigterm_finishes_running_tasks_and_loses_nothing(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    labels = [f"t{i}" for i in range(20)]
    ids = [await producer.submit(slow, label, 0.2) for label in labels]
    first = workers("--io-workers", "2", "--prefetch", "4", "--shutdown-timeout", "10")
    await until(lambda: len(r.executions()) >= 2, what="the worker to finish some tasks")

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    statuses = [result.status for result in await producer.backend_required.get_many(ids)]
    assert set(statuses) <= {TaskStatus.SUCCESS, TaskStatus.PENDING}  # nothing half-done
    assert await producer.broker_required.list_workers() == []

    assert workers("--burst").wait() == 0
    assert await wait_all(producer, ids) == [TaskStatus.SUCCESS] * len(ids)
    assert sorted(r.executions()) == sorted(labels)  # each exactly once


async def test_priorities_queues_and_delays_hold_across_processes(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    delayed = await producer.options(countdown=0.5).submit(record, "delayed")
    for label, priority in (("p0", 0), ("p9", 9), ("p5", 5), ("p9b", 9)):
        await producer.options(priority=priority).submit(record, label)
    elsewhere = await producer.options(queue="other", priority=9).submit(record, "other")

    worker = workers("--queues", "default", "--io-workers", "1", "--prefetch", "1")
    await until(lambda: len(r.executions()) == 5, what="five tasks")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0

    assert r.executions() == ["p9", "p9b", "p5", "p0", "delayed"]
    late = await producer.get_result(delayed)
    assert late is not None and late.started_at is not None and late.submitted_at is not None
    assert (late.started_at - late.submitted_at).total_seconds() >= 0.5
    other = await producer.get_result(elsewhere)
    assert other is not None and other.status is TaskStatus.PENDING
    assert (await producer.broker_required.queue_sizes())["other"] == 1


async def test_a_revoked_task_is_skipped_by_every_worker(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    keep = await producer.submit(record, "keep")
    drop = await producer.submit(record, "drop")
    later = await producer.options(countdown=0.3).submit(record, "later")
    assert await producer.revoke(drop) and await producer.revoke(later)

    worker = workers("--io-workers", "2")
    assert await wait_all(producer, [keep, drop, later]) == [
        TaskStatus.SUCCESS,
        TaskStatus.REVOKED,
        TaskStatus.REVOKED,
    ]
    broker = producer.broker_required

    async def later_due() -> bool:
        return await broker.scheduled_count() == 0

    await until(later_due, 10, '"later" to become due')
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert r.executions() == ["keep"]  # "later" was dropped, neither run nor given back
    assert not any((await broker.queue_sizes()).values())


async def test_poison_messages_are_dead_lettered_and_the_worker_goes_on(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    poison = [b"\xff not json", b'{"id": "x", "name": "record", "args": 5}']
    r.client.rpush(r.key("q", "default", "0"), *poison)
    r.client.sadd(r.key("queues"), "default")

    @producer.task(name="ghost")
    async def ghost() -> None:
        """Registered here, not in the worker's app."""

    unknown = await producer.submit("ghost")
    after = await producer.submit(record, "after")

    assert workers("--burst").wait() == 0
    assert r.executions() == ["after"]
    dead = await producer.broker_required.dead_letters()  # type: ignore[attr-defined]
    reasons = sorted(d["reason"] for d in dead)
    assert reasons[0].startswith("Task 'ghost' is not registered.")
    assert [reason.split(":")[0] for reason in reasons[1:]] == ["malformed message"] * 2
    failed = await producer.get_result(unknown)
    assert failed is not None and failed.status is TaskStatus.FAILED
    assert (await producer.get_result(after)).status is TaskStatus.SUCCESS  # type: ignore[union-attr]


async def test_retries_go_through_the_delayed_set_and_results_reach_waiters(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    worker = workers("--io-workers", "4")
    await until(lambda: r.client.zcard(r.key("workers")) == 1, what="the worker's heartbeat")
    [info] = await producer.broker_required.list_workers()
    assert info["pid"] == worker.pid and info["queues"] == ["default"]

    retried = await producer.submit(flaky, "f")
    ids = [await producer.submit(record, f"r{i}") for i in range(50)]
    assert await wait_all(producer, [retried, *ids]) == [TaskStatus.SUCCESS] * 51
    final = await producer.get_result(retried)
    assert final is not None and final.retries == 1 and final.result == 1
    assert [e for e in r.executions() if e.startswith("f:")] == ["f:0", "f:1"]


async def test_the_worker_survives_a_redis_restart(
    private_redis: RedisServer, workers: Workers, r: Space
) -> None:
    url = with_prefix(private_redis.url, r.prefix)
    app = make_app(url)
    await app.start(worker=False)
    client = redis.Redis(port=private_redis.port)
    try:
        worker = workers("--io-workers", "2", url=url)
        before = await app.submit(record, "before")
        assert (await app.wait_for_result(before, timeout=30)).status is TaskStatus.SUCCESS
        during = await app.submit(nap, 1.0)
        running = r.key("status", "running")
        await until(lambda: client.zcard(running) == 1, what="the slow task")

        private_redis.stop()  # the task finishes while Redis is down
        await until(lambda: ": cannot reach" in worker.output(), what="the outage in the log")
        private_redis.start()
        after = await app.submit(record, "after")

        assert (await app.wait_for_result(after, timeout=30)).status is TaskStatus.SUCCESS
        await until(lambda: client.exists(r.key("result", during)), what="the stored result")
        stored = await app.get_result(during)
        assert stored is not None and stored.status is TaskStatus.SUCCESS  # not lost
        assert worker.proc.poll() is None  # no crash, no restart: the same process
    finally:
        client.close()
        await app.stop()


async def test_a_worker_finds_the_master_through_sentinel(
    sentinel: RedisServer, private_redis: RedisServer, r: Space, workers: Workers
) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/mymaster/2?key_prefix={r.prefix}"
    app = make_app(url)
    await app.start(worker=False)
    try:
        worker = workers("--burst", url=url)
        ids = [await app.submit(record, f"s{i}") for i in range(3)]
        assert worker.wait() == 0 or worker.output()
        assert await wait_all(app, ids) == [TaskStatus.SUCCESS] * 3
        direct = redis.Redis(port=private_redis.port, db=2)
        assert direct.exists(r.key("result", ids[0])) == 1  # stored on the master, db 2
        direct.close()
    finally:
        await app.stop()


async def test_the_cpu_pool_of_a_killed_worker_exits_without_tracebacks(
    producer: Flowrra, workers: Workers, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    worker = workers("--cpu-workers", "2", "--io-workers", "1")
    await producer.submit(cpu_sleep, str(pid_file), 1.0)
    await until(lambda: pid_file.exists() and pid_file.read_text(), what="the CPU task to start")
    child = int(pid_file.read_text())
    worker.kill()  # the worker only: its pool processes live on, one of them mid-task

    await until(lambda: not Path(f"/proc/{child}").exists(), 20, "the orphaned pool process")
    output = worker.output()
    assert "Traceback" not in output, output
    assert "BrokenPipeError" not in output and "ConnectionResetError" not in output
