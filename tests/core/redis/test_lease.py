"""A worker that could not renew its lease (frozen, or cut off from Redis) while another
worker took its messages over: once back, it runs none of them again and stores no result
over the new owner's."""

from __future__ import annotations

import signal
from collections.abc import Callable

from flowrra import Flowrra, TaskStatus
from tests.waiting import until

from .conftest import Space, WorkerProcess
from .tasks_app import ledgered

Workers = Callable[..., WorkerProcess]


def runs(r: Space, kind: str, pid: int | None = None) -> list[str]:
    entries = [e for e in r.executions() if e.startswith(f"{kind}:")]
    return [e for e in entries if pid is None or e.endswith(f":{pid}")]


async def test_a_worker_back_from_a_lost_lease_neither_reruns_nor_overwrites(
    producer: Flowrra, workers: Workers, r: Space
) -> None:
    frozen = workers("--io-workers", "2", "--prefetch", "8")  # lease: 3 x 0.2 s
    ids = [await producer.submit(ledgered, f"t{i}", 1.0) for i in range(10)]
    await until(lambda: len(runs(r, "start", frozen.pid)) == 2, what="two tasks to start")
    frozen.signal(signal.SIGSTOP)
    try:
        rescuer = workers("--io-workers", "10")
        results = [await producer.wait_for_result(task_id, timeout=60) for task_id in ids]
    finally:
        frozen.signal(signal.SIGCONT)
    assert {result.status for result in results} == {TaskStatus.SUCCESS}
    await until(lambda: "lease ran out" in frozen.output(), 30, "the frozen worker to notice")
    await until(lambda: "not stored" in frozen.output(), 10, f"runs discarded: {r.executions()}")

    assert len(runs(r, "start", frozen.pid)) == 2  # nothing new started once it was back
    assert len(runs(r, "start", rescuer.pid)) == 10
    stored = [await producer.get_result(task_id) for task_id in ids]
    owners = [(s.task_id, s.worker) for s in stored if s is not None]
    assert all(f":{rescuer.pid}:" in (worker or "") for _, worker in owners), (
        owners,
        frozen.output(),
    )
    assert {s.status for s in stored if s is not None} == {TaskStatus.SUCCESS}
    duplicates = len(runs(r, "start")) - len(ids)
    print(f"runs of tasks held by the frozen worker that ran again elsewhere: {duplicates}")
    assert duplicates == 2
