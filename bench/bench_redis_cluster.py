"""Redis Cluster figures: the drain rate of the same workers on one Redis and on a 3-master
Redis Cluster with the queues spread over 3 hash tags (``shards=3``), in the same run
(interleaved, medians of the reps), with worker and Redis CPU per task, per cluster node; then
the model's prediction for a 16-core host.

    .venv/bin/python bench/bench_redis_cluster.py [--n 20000] [--reps 3] [--workers 4]
    .venv/bin/python bench/bench_redis_cluster.py --quick      # n=3000, 1 rep

The bench starts its own servers on free loopback ports (one redis-server, and three
``--cluster-enabled`` ones joined by ``redis-cli --cluster create``) and stops them by PID.
Workers are ``python -m flowrra worker --app bench.bench_redis_cluster:app`` subprocesses
consuming three queues that live on the 3 shards. Each rep drains twice per deployment, by
polling the count of stored successes every 5 ms:

- warm: the workers start on empty queues; once each has sent its first heartbeat their
  queues are paused (remote control), N no-op tasks queued, and the queues resumed; rate =
  N / time from the resume until the last is done. This is the steady drain of a backlog,
  and the figure the CPU per task is read from.
- cold (as bench_redis.py): N tasks queued, then the workers started; rate = tasks finished
  after the first one was seen / time until the last. Workers still starting count here.

Per task it also prints the scripts the workers ran (``EVALSHA`` calls, one per round trip
of a fetch or a store-and-acknowledge) and the commands Redis ran, those inside scripts
included (``INFO commandstats``).

The model: a task costs ``w`` worker CPU and, on each Redis node, the CPU that node spent
per task. One Redis node is one core, so a deployment's rate is bounded by its busiest node
(1 / its CPU per task) and by the cores left for workers ((cores - Redis nodes) / w).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.cluster import RedisCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_redis import cpu_seconds, med, stop_workers  # noqa: E402
from flowrra import BackendConfig, BrokerConfig, Config, Flowrra  # noqa: E402
from flowrra.brokers.base import BaseBroker  # noqa: E402
from flowrra.control.client import send_command  # noqa: E402
from flowrra.options import SubmitOptions  # noqa: E402
from flowrra.redis_cluster import shard_of, shard_prefixes  # noqa: E402

#: Three queues that live on the three shards.
QUEUES = tuple(
    next(f"q{i}" for i in itertools.count() if shard_of(f"q{i}", 3) == shard) for shard in range(3)
)
URL = os.environ.get("FLOWRRA_BENCH_URL", "redis://127.0.0.1:6379/12")

app = Flowrra(Config(broker=BrokerConfig(url=URL), backend=BackendConfig(url=URL)))


@app.task()
async def noop(x: int) -> int:
    return x


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "flowrra", "worker"]
    command += ["--app", "bench.bench_redis_cluster:app", "--loglevel", "WARNING"]
    command += ["--queues", ",".join(QUEUES)]
    env = {**os.environ, "FLOWRRA_BENCH_URL": url}
    return [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        for _ in range(count)
    ]


def producer_for(url: str) -> Flowrra:
    """An app that submits the bench's tasks to ``url``."""
    producer = Flowrra(Config(broker=BrokerConfig(url=url), backend=BackendConfig(url=url)))
    for spec in app.registry:
        producer.registry.register(spec)
    return producer


async def fill(producer: Flowrra, n: int, chunk: int = 1000) -> None:
    """Queue ``n`` no-op tasks over the three queues."""
    for first in range(0, n, chunk):
        calls = [
            (noop, (i,), {}, SubmitOptions(queue=QUEUES[i % 3]))
            for i in range(first, min(n, first + chunk))
        ]
        await producer.submit_many(calls)


class Target:
    """One deployment under test: its URL, a client to count successes, its Redis PIDs and
    ports."""

    def __init__(
        self,
        name: str,
        url: str,
        nodes: dict[int, int],
        client: redis.Redis | RedisCluster,
        shards: int = 1,
    ) -> None:
        self.name, self.url, self.nodes, self.client = name, url, nodes, client
        prefixes = shard_prefixes("{flowrra}", shards) if shards > 1 else ["flowrra"]
        self.successes = [f"{prefix}:status:success" for prefix in prefixes]

    def done(self) -> int:
        return sum(int(self.client.zcard(key)) for key in self.successes)

    def flush(self) -> None:
        if isinstance(self.client, RedisCluster):
            self.client.flushall(target_nodes=RedisCluster.PRIMARIES)
        else:
            self.client.flushall()

    def snapshot(self, procs: list[subprocess.Popen[bytes]]) -> dict[str, float]:
        """CPU seconds of the workers and of each Redis node, the scripts and commands each
        node ran, and the tasks done so far."""
        taken = {"workers": sum(cpu_seconds(p.pid) for p in procs), "done": self.done()}
        for port, pid in self.nodes.items():
            taken[f"node{port}"] = cpu_seconds(pid)
            stats = redis.Redis(port=port).info("commandstats")
            taken[f"scripts{port}"] = stats.get("cmdstat_evalsha", {}).get("calls", 0)
            taken[f"commands{port}"] = sum(
                stat["calls"] for name, stat in stats.items() if name not in BENCH_OWN
            )
        return taken


#: How the drain is measured (see :func:`drain`).
MODES = {
    "warm": "workers started and registered before the tasks are queued",
    "cold": "workers started on the queued tasks, measured from the first done",
}
#: Commands the bench itself sends (counting successes, reading the figures).
BENCH_OWN = {"cmdstat_zcard", "cmdstat_info", "cmdstat_ping", "cmdstat_hello"}


async def drain(target: Target, n: int, workers: int, *, warm: bool) -> dict[str, float]:
    """The drain of ``n`` tasks by ``workers`` processes; the rate and per-task costs.

    Warm: start the workers, pause their queues once each has sent its first heartbeat, queue
    the tasks and resume; measured from the resume until the last task is done, so start-up
    and the producer's own work stay out of it. Cold (as bench_redis.py): queue the tasks,
    start the workers; measured from the first task seen done, while some workers may still
    be starting."""
    target.flush()
    producer = producer_for(target.url)
    await producer.start(worker=False)
    if not warm:
        await fill(producer, n)
    procs = start_workers(target.url, workers)
    try:
        if warm:
            ids = await started_workers(producer.broker_required, workers)
            await control(producer.broker_required, ids, "pause")
            await fill(producer, n)
            start, started = target.snapshot(procs), time.perf_counter()
            await control(producer.broker_required, ids, "resume")
        else:
            await done(target, 1)
            start, started = target.snapshot(procs), time.perf_counter()
        await done(target, n)
        end, ended = target.snapshot(procs), time.perf_counter()
    finally:
        stop_workers(procs)
        await producer.stop()
    finished = n - start["done"]
    figures = {name: (end[name] - start[name]) / finished for name in end}
    figures["rate"] = finished / (ended - started)
    return figures


async def done(target: Target, count: int, limit: float = 300) -> None:
    """Return once ``count`` tasks are done (polled every 5 ms)."""
    deadline = time.monotonic() + limit
    while (finished := target.done()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: {finished} of {count} tasks done in {limit:g} s")
        await asyncio.sleep(0.005)


async def started_workers(broker: BaseBroker, count: int) -> list[str]:
    """The ids of the ``count`` workers, once each has sent its first heartbeat."""
    deadline = time.monotonic() + 60
    while len(workers := await broker.list_workers()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(workers)} of {count} workers started in 60 s")
        await asyncio.sleep(0.05)
    return [worker["id"] for worker in workers]


async def control(broker: BaseBroker, workers: list[str], command: str) -> None:
    """Send ``command`` (pause or resume) for every queue to every worker at once; wait for
    the replies."""
    replies = await asyncio.gather(
        *(
            send_command(broker, worker, command, {"queue": queue})
            for worker in workers
            for queue in QUEUES
        )
    )
    if not all(reply and reply["ok"] for reply in replies):
        raise RuntimeError(f"{command}: {replies}")


def predict(worker_us: float, node_us: list[float], cores: int) -> float:
    """Tasks/s on ``cores`` cores: each Redis node takes a core, workers get the rest."""
    redis_bound = 1e6 / max(node_us)
    worker_bound = (cores - len(node_us)) * 1e6 / worker_us
    return min(redis_bound, worker_bound)


def main() -> None:
    # here, not at the top: the workers import this module, and the tests' helpers import
    # pytest, which would weigh on every worker's start
    from tests.core.redis.cluster import ClusterServers
    from tests.core.redis.conftest import RedisServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks drained per run")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--cores", type=int, default=16, help="cores the model predicts for")
    parser.add_argument("--quick", action="store_true", help="n=3000, one rep")
    args = parser.parse_args()
    if args.quick:
        args.n, args.reps = 3000, 1
    workdir = Path(tempfile.mkdtemp(prefix="flowrra-bench-cluster-"))
    single = RedisServer(workdir)
    cluster = ClusterServers(workdir / "cluster", node_timeout_ms=15_000)
    try:
        single.start()
        cluster.start()
        assert single.proc is not None
        cluster_client = cluster.client()
        masters = {port: proc.pid for port, proc in sorted(cluster.procs.items())}
        targets = [
            Target("one Redis", single.url, {single.port: single.proc.pid},
                   redis.Redis(port=single.port)),
            Target("cluster, 3 tags", cluster.url + "?shards=3", masters, cluster_client, 3),
        ]  # fmt: skip
        runs: dict[tuple[str, str], list[dict[str, float]]] = collections.defaultdict(list)
        for _ in range(args.reps):
            for mode in MODES:
                for target in targets:
                    drained = drain(target, args.n, args.workers, warm=mode == "warm")
                    runs[mode, target.name].append(asyncio.run(drained))
        report(targets, runs, args)
    finally:
        cluster.stop()
        single.stop()


def median_of(runs: list[dict[str, float]], name: str, scale: float = 1.0) -> float:
    """The median of figure ``name`` over ``runs``, times ``scale``."""
    return scale * statistics.median(run[name] for run in runs)


def same_rep(
    runs: dict[tuple[str, str], list[dict[str, float]]],
    mode: str,
    targets: list[Target],
    target: Target,
) -> str:
    """The ratios of ``target``'s figures to the first target's, rep by rep: the drain rate,
    the workers' CPU per task and the Redis CPU per task (all nodes)."""
    base = targets[0]
    pairs = list(zip(runs[mode, target.name], runs[mode, base.name], strict=True))

    def ratios(figure: Callable[[dict[str, float], Target], float]) -> str:
        values = sorted(figure(mine, target) / figure(theirs, base) for mine, theirs in pairs)
        return f"{statistics.median(values):.2f}x ({values[0]:.2f}-{values[-1]:.2f})"

    return (
        f"drain {ratios(lambda run, _: run['rate'])}, "
        f"worker CPU {ratios(lambda run, _: run['workers'])}, "
        f"Redis CPU {ratios(lambda run, of: sum(run[f'node{port}'] for port in of.nodes))}"
    )


def report(
    targets: list[Target],
    runs: dict[tuple[str, str], list[dict[str, float]]],
    args: argparse.Namespace,
) -> None:
    n, reps, workers, cores = args.n, args.reps, args.workers, args.cores
    print(f"flowrra (this checkout), Redis vs Redis Cluster, {n:,} no-op tasks over 3 queues, "
          f"{workers} worker processes, reps={reps}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for mode in MODES:
        print(f"{mode}: {MODES[mode]}")
        base = statistics.median(r["rate"] for r in runs[mode, targets[0].name])
        for target in targets:
            mine = runs[mode, target.name]
            median = functools.partial(median_of, mine)
            rate = median("rate")
            print(f"  {target.name:16} drain/s {med([r['rate'] for r in mine])}"
                  f"  ({rate / base:.2f}x one Redis)")  # fmt: skip
            worker_us = median("workers", 1e6)
            node_us = [median(f"node{port}", 1e6) for port in target.nodes]
            nodes = " / ".join(f"{us:.1f}" for us in node_us)
            print(f"    worker CPU us/task {worker_us:.1f}; Redis CPU us/task per node {nodes} "
                  f"(sum {sum(node_us):.1f})")  # fmt: skip
            scripts = sum(median(f"scripts{port}") for port in target.nodes)
            commands = sum(median(f"commands{port}") for port in target.nodes)
            print(f"    per task: {scripts:.4f} scripts (1 per {1 / scripts:.1f} tasks), "
                  f"{commands:.2f} commands run (those of the scripts included)")  # fmt: skip
            if target is not targets[0]:
                print(f"    against one Redis in the same rep (median, range): "
                      f"{same_rep(runs, mode, targets, target)}")  # fmt: skip
            left = cores - len(node_us)
            print(f"    model, {cores} cores: {predict(worker_us, node_us, cores):,.0f} tasks/s "
                  f"(busiest node {1e6 / max(node_us):,.0f}/s, workers on {left} cores "
                  f"{left * 1e6 / worker_us:,.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
