"""Redis Cluster figures: the drain rate of the same workers on one Redis and on a 3-master
Redis Cluster with the queues spread over 3 hash tags (``shards=3``), in the same run
(interleaved, medians of the reps), with worker and Redis CPU per task, per cluster node; then
the model's prediction for a 16-core host.

    .venv/bin/python bench/bench_redis_cluster.py [--n 10000] [--reps 3] [--workers 4]
    .venv/bin/python bench/bench_redis_cluster.py --quick      # n=3000, 1 rep

The bench starts its own servers on free loopback ports (one redis-server, and three
``--cluster-enabled`` ones joined by ``redis-cli --cluster create``) and stops them by PID.
Workers are ``python -m flowrra worker --app bench.bench_redis_cluster:app`` subprocesses
consuming three queues that live on the 3 shards. The drain rate is measured as in
bench_redis.py: with N no-op tasks queued, start the workers and poll the count of stored
successes; rate = tasks finished after the first one was seen / time until the last.

The model: a task costs ``w`` worker CPU and, on each Redis node, the CPU that node spent
per task. One Redis node is one core, so a deployment's rate is bounded by its busiest node
(1 / its CPU per task) and by the cores left for workers ((cores - Redis nodes) / w).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis.cluster import RedisCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_redis import cpu_seconds, med, stop_workers  # noqa: E402
from flowrra import BackendConfig, BrokerConfig, Config, Flowrra  # noqa: E402
from flowrra.options import SubmitOptions  # noqa: E402
from flowrra.redis_cluster import shard_of, shard_prefixes  # noqa: E402
from tests.core.redis.cluster import ClusterServers  # noqa: E402
from tests.core.redis.conftest import RedisServer  # noqa: E402

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


async def fill(url: str, n: int, chunk: int = 1000) -> None:
    """Queue ``n`` no-op tasks over the three queues."""
    producer = Flowrra(Config(broker=BrokerConfig(url=url), backend=BackendConfig(url=url)))
    for spec in app.registry:
        producer.registry.register(spec)
    await producer.start(worker=False)
    try:
        for first in range(0, n, chunk):
            calls = [
                (noop, (i,), {}, SubmitOptions(queue=QUEUES[i % 3]))
                for i in range(first, min(n, first + chunk))
            ]
            await producer.submit_many(calls)
    finally:
        await producer.stop()


class Target:
    """One deployment under test: its URL, a client to count successes, its Redis PIDs."""

    def __init__(
        self, name: str, url: str, nodes: dict[str, int], client: redis.Redis, shards: int = 1
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


def drain(target: Target, n: int, workers: int) -> dict[str, float]:
    target.flush()
    asyncio.run(fill(target.url, n))
    procs = start_workers(target.url, workers)
    try:
        spawned = time.perf_counter()
        first_seen = first_count = None
        cpu0: dict[str, float] = {}
        while True:
            done = target.done()
            now = time.perf_counter()
            if done and first_seen is None:
                first_seen, first_count = now, done
                cpu0 = {name: cpu_seconds(pid) for name, pid in target.nodes.items()}
                cpu0["workers"] = sum(cpu_seconds(p.pid) for p in procs)
            if done >= n:
                break
            if now - spawned > 300:
                raise RuntimeError(f"{target.name}: only {done} of {n} tasks finished in 300 s")
            time.sleep(0.005)
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in target.nodes.items()}
        cpu["workers"] = sum(cpu_seconds(p.pid) for p in procs) - cpu0["workers"]
        assert first_seen is not None and first_count is not None
        finished = max(n - first_count, 1)
        figures = {f"{name}_us": 1e6 * seconds / finished for name, seconds in cpu.items()}
        figures["rate"] = finished / (now - first_seen) if now > first_seen else float("nan")
        return figures
    finally:
        stop_workers(procs)


def predict(worker_us: float, node_us: list[float], cores: int) -> float:
    """Tasks/s on ``cores`` cores: each Redis node takes a core, workers get the rest."""
    redis_bound = 1e6 / max(node_us)
    worker_bound = (cores - len(node_us)) * 1e6 / worker_us
    return min(redis_bound, worker_bound)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="tasks drained per run")
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
        masters = {f"node{port}": proc.pid for port, proc in sorted(cluster.procs.items())}
        targets = [
            Target("one Redis", single.url, {"redis": single.proc.pid},
                   redis.Redis(port=single.port)),
            Target("cluster, 3 tags", cluster.url + "?shards=3", masters, cluster_client, 3),
        ]  # fmt: skip
        runs: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
        for _ in range(args.reps):
            for target in targets:
                runs[target.name].append(drain(target, args.n, args.workers))
        report(targets, runs, args)
    finally:
        cluster.stop()
        single.stop()


def report(
    targets: list[Target], runs: dict[str, list[dict[str, float]]], args: argparse.Namespace
) -> None:
    n, reps, workers, cores = args.n, args.reps, args.workers, args.cores
    print(f"flowrra (this checkout), Redis vs Redis Cluster, {n:,} no-op tasks over 3 queues, "
          f"{workers} worker processes, reps={reps}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    base = statistics.median(r["rate"] for r in runs[targets[0].name])
    for target in targets:
        mine = runs[target.name]
        rate = statistics.median(r["rate"] for r in mine)
        print(f"  {target.name:16} drain/s {med([r['rate'] for r in mine])}"
              f"  ({rate / base:.2f}x one Redis)")  # fmt: skip
        worker_us = statistics.median(r["workers_us"] for r in mine)
        node_us = [statistics.median(r[f"{name}_us"] for r in mine) for name in target.nodes]
        nodes = " / ".join(f"{us:.1f}" for us in node_us)
        print(f"    worker CPU us/task {worker_us:.1f}; Redis CPU us/task per node {nodes} "
              f"(sum {sum(node_us):.1f})")  # fmt: skip
        left = cores - len(node_us)
        print(f"    model, {cores} cores: {predict(worker_us, node_us, cores):,.0f} tasks/s "
              f"(busiest node {1e6 / max(node_us):,.0f}/s, workers on {left} cores "
              f"{left * 1e6 / worker_us:,.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
