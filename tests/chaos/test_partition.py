"""A network partition: a worker on a host of its own (a network namespace this test makes,
joined to this one by a veth pair) is cut off from Redis while it runs tasks, then healed.
Its tasks go to the other workers; once back it runs none of its buffered messages and
stores no result over the ones the others stored. Needs root and ``ip netns``."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra, TaskStatus, TaskTimeoutError
from tests.core.redis.conftest import RedisServer
from tests.netns import Namespace, hosts
from tests.services import unavailable
from tests.waiting import until

from . import chaos_app
from .conftest import FIGURES, Process, python
from .ledger import LEDGER_ENV, tally

pytestmark = pytest.mark.redis

#: How long the worker is cut off (its lease is 3 s: heartbeats every second). Its tasks
#: take 6 s: it is cut off while it runs two of them, with more buffered.
CUT_SECONDS = 10.0


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    if shutil.which("redis-server") is None:
        unavailable("the partition test needs redis-server")
    with hosts(1, "fl") as (made,):
        yield made


async def test_a_partitioned_worker_neither_reruns_nor_overwrites(
    namespace: Namespace, tmp_path: Path, processes: list[Process]
) -> None:
    server = RedisServer(tmp_path, also_on=[namespace.host])
    server.start()
    port = server.port
    ledger = tmp_path / "ledger"
    worker_args = ["-m", "flowrra", "worker", "--app", "tests.chaos.chaos_app:app"]
    worker_args += ["--heartbeat-interval", "1", "--io-workers", "2", "--prefetch", "8"]
    local_url = f"redis://127.0.0.1:{port}/0"
    app = Flowrra(Config(broker=BrokerConfig(url=local_url), backend=BackendConfig(url=local_url)))
    for spec in chaos_app.app.registry:
        app.registry.register(spec)
    try:
        remote = Process(
            namespace.command(python(*worker_args)),
            {
                "FLOWRRA_CHAOS_REDIS_URL": f"redis://{namespace.host}:{port}/0",
                LEDGER_ENV: str(ledger),
            },
            tmp_path / "remote.log",
        )
        processes.append(remote)
        await app.start(worker=False)
        ids = [
            await app.options(task_id=f"p{i}").submit(chaos_app.hop, f"p{i}", 6.0)
            for i in range(10)
        ]
        await until(lambda: _starts(ledger) == 2, 30, "two tasks to start")

        namespace.cut()
        cut_at = time.monotonic()
        local = [
            Process(
                python(*worker_args),
                {"FLOWRRA_CHAOS_REDIS_URL": local_url, LEDGER_ENV: str(ledger)},
                tmp_path / f"local-{i}.log",
            )
            for i in range(2)
        ]
        processes.extend(local)
        try:
            results = [await app.wait_for_result(task_id, timeout=90) for task_id in ids]
        except TaskTimeoutError:
            logs = "\n".join(f"== {p.log.name}\n{p.output()[-2500:]}" for p in processes)
            pytest.fail(f"tasks not finished; ledger {ledger.read_text()!r}\n{logs}")
        await asyncio.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
        namespace.heal()
        await until(lambda: "not stored" in remote.output(), 30, "the remote worker to come back")
        stored = [await app.get_result(task_id) for task_id in ids]
    finally:
        await app.stop()
        for process in processes:
            process.stop()
        server.stop()

    counts = tally(ledger, ids, killed=set())
    remote_runs = [token for token, pids in counts.runs.items() if remote.pid in pids]
    FIGURES.append(
        f"partition ({CUT_SECONDS:g} s cut): {len(remote_runs)} task(s) that were running on "
        "the cut-off worker ran again elsewhere; none of the messages it had buffered ran there"
    )
    assert {result.status for result in results} == {TaskStatus.SUCCESS}
    assert len(remote_runs) == 2  # the two it was running when cut off, nothing after
    local_pids = {f":{process.pid}:" for process in local}
    assert all(s is not None and any(pid in (s.worker or "") for pid in local_pids) for s in stored)


def _starts(ledger: Path) -> int:
    return ledger.read_text().count(":start ") if ledger.exists() else 0
