"""Redis broker + backend figures: enqueue rate, drain rate (1 and 4 worker processes, or
``--workers 1,2,4``) and submit -> result round trips against an idle worker, medians of a
few reps; also worker and Redis CPU per task while draining, and memory per queued task.

    .venv/bin/python bench/bench_redis.py [--n 20000] [--reps 3] [--peers /tmp/peers.jsonl]

Uses its own Redis db (FLOWRRA_BENCH_REDIS_URL, default redis://127.0.0.1:6379/12), flushed
before each run and at the end. Workers are ``python -m flowrra worker --app
bench.bench_redis:app`` subprocesses, stopped by PID. The drain rate is measured like the
peer harness in ../shared/bench: with N no-op tasks queued, start the worker(s) and poll the
count of stored successes every 5 ms; rate = tasks finished after the first one was seen,
divided by the time until the last one. ``--peers`` reads that harness's results file and
prints the peers measured in the same session beside ours.

``--baseline REF`` (default: the commit before the worker was made lean) drains with one
worker of that version of Flowrra too, interleaved with ours in every rep (``git archive``
of REF into a temporary folder), and measures both versions' memory per queued task on a
private ``redis-server`` (used_memory after N submits, less before); ``--baseline ''``
skips both.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra, TaskTimeoutError

URL = os.environ.get("FLOWRRA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
ROOT = Path(__file__).resolve().parent.parent
#: Flowrra as the issue "Performance, round two" found it: the peer of the lean worker.
BASELINE = "5212c8e"

app = Flowrra(Config(broker=BrokerConfig(url=URL), backend=BackendConfig(url=URL)))


@app.task()
async def noop(x: int) -> int:
    return x


def start_workers(count: int, extra: list[str], cwd: Path = ROOT) -> list[subprocess.Popen[bytes]]:
    """Worker processes of the Flowrra found in ``cwd`` (this checkout, or a baseline)."""
    command = [sys.executable, "-m", "flowrra", "worker", "--app", "bench.bench_redis:app"]
    command += ["--loglevel", "WARNING", *extra]
    return [
        subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, start_new_session=True)
        for _ in range(count)
    ]


def extract(ref: str, into: Path) -> Path:
    """``flowrra/`` and ``bench/bench_redis.py`` as they were at ``ref``, under ``into``."""
    archive = subprocess.run(
        ["git", "archive", ref, "flowrra", "bench/bench_redis.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


#: Run in a checkout's folder with FLOWRRA_BENCH_REDIS_URL set: submit argv[1] no-op tasks
#: one by one, and print used_memory after them less before, per task.
_QUEUED_BYTES = """
import asyncio, sys
from bench.bench_redis import URL, app, noop
import redis
async def main(n):
    await app.start(worker=False)
    await app.submit(noop, -1)
    before = redis.Redis.from_url(URL).info("memory")["used_memory"]
    for i in range(n):
        await app.submit(noop, i)
    after = redis.Redis.from_url(URL).info("memory")["used_memory"]
    await app.stop()
    print((after - before) / n)
asyncio.run(main(int(sys.argv[1])))
"""


def queued_bytes(checkouts: dict[str, Path], n: int) -> dict[str, float]:
    """Memory per queued task of each checkout, on a private redis-server (none: {})."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    try:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        return {}
    figures: dict[str, float] = {}
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        for db, (label, cwd) in enumerate(checkouts.items()):
            env = {**os.environ, "FLOWRRA_BENCH_REDIS_URL": f"redis://127.0.0.1:{port}/{db}"}
            out = subprocess.run(
                [sys.executable, "-c", _QUEUED_BYTES, str(n)],
                cwd=cwd,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures[label] = float(out.split()[-1])
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait()
    return figures


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process on this host (NaN for a Redis elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def enqueue(n: int) -> float:
    """Submit ``n`` tasks one by one; the rate."""
    async with _producer():
        started = time.perf_counter()
        for i in range(n):
            await app.submit(noop, i)
        return n / (time.perf_counter() - started)


async def enqueue_many(n: int, chunk: int = 1000) -> float:
    """Submit ``n`` tasks with ``submit_many``, ``chunk`` at a time; the rate."""
    async with _producer():
        started = time.perf_counter()
        for first in range(0, n, chunk):
            await app.submit_many([(noop, (i,), {}, None) for i in range(first, first + chunk)])
        return n / (time.perf_counter() - started)


class _producer:
    async def __aenter__(self) -> None:
        await app.start(worker=False)

    async def __aexit__(self, *exc: object) -> None:
        await app.stop()


def drain(
    r: redis.Redis, n: int, workers: int, extra: list[str], cwd: Path = ROOT
) -> dict[str, float]:
    """Start ``workers`` processes on ``n`` queued tasks; the rate once the first result shows."""
    key = "flowrra:status:success"
    commands_before = r.info("stats")["total_commands_processed"]
    redis_pid = int(r.info("server")["process_id"])
    procs = start_workers(workers, extra, cwd)
    try:
        spawned = time.perf_counter()
        first_seen = first_count = None
        cpu_at_first = redis_cpu_at_first = 0.0
        while True:
            done = r.zcard(key)
            now = time.perf_counter()
            if done and first_seen is None:
                first_seen, first_count = now, done
                cpu_at_first = sum(cpu_seconds(p.pid) for p in procs)
                redis_cpu_at_first = cpu_seconds(redis_pid)
            if done >= n:
                break
            if now - spawned > 300:
                raise RuntimeError(f"only {done} of {n} tasks finished in 300 s")
            time.sleep(0.005)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_at_first
        redis_cpu = cpu_seconds(redis_pid) - redis_cpu_at_first
        polls = (now - spawned) / 0.005
        commands = r.info("stats")["total_commands_processed"] - commands_before - polls
        assert first_seen is not None and first_count is not None
        finished = n - first_count
        return {
            "rate": finished / (now - first_seen) if now > first_seen else float("nan"),
            "incl_startup": n / (now - spawned),
            "worker_cpu_us_per_task": 1e6 * cpu / max(finished, 1),
            "redis_cpu_us_per_task": 1e6 * redis_cpu / max(finished, 1),
            "redis_cmds_per_task": commands / n,
            "left_unacked": _leftovers(r),
        }
    finally:
        stop_workers(procs)


def _leftovers(r: redis.Redis) -> int:
    """Messages still queued or held by a worker (must be 0: every message acknowledged)."""
    held = sum(int(r.hlen(key)) for key in r.scan_iter("flowrra:held:*"))
    queued = sum(int(r.llen(key)) for key in r.scan_iter("flowrra:q:*"))
    return held + queued


async def round_trips(count: int, warmup: int = 20) -> tuple[list[float], int]:
    samples: list[float] = []
    missed = 0
    async with _producer():
        for i in range(warmup + count):
            started = time.perf_counter()
            task_id = await app.submit(noop, i)
            try:
                result = await app.wait_for_result(task_id, timeout=5)
            except TaskTimeoutError:
                missed += 1
                continue
            assert result.result == i
            if i >= warmup:
                samples.append(time.perf_counter() - started)
    return samples, missed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def wait_idle(r: redis.Redis, workers: int) -> None:
    deadline = time.monotonic() + 30
    while r.zcard("flowrra:workers") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not start")
        time.sleep(0.05)


def _join(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def med(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks drained per run")
    parser.add_argument("--enqueue-n", type=int, default=10_000, help="tasks submitted one by one")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--latency-n", type=int, default=500)
    parser.add_argument("--peers", type=Path, help="results.jsonl of ../shared/bench/run.sh")
    parser.add_argument("--worker-args", default="", help="worker options, e.g. '--prefetch 64'")
    parser.add_argument("--baseline", default=BASELINE, help="a git ref to compare with, or ''")
    parser.add_argument("--memory-n", type=int, default=20_000, help="tasks queued to weigh")
    parser.add_argument(
        "--workers",
        default="1,4",
        help="worker process counts to drain with; the first is the base",
    )
    args = parser.parse_args()
    extra = args.worker_args.split()
    counts = [int(count) for count in args.workers.split(",")]
    r = redis.Redis.from_url(URL)
    figures: dict[str, list[float]] = collections.defaultdict(list)
    stats: dict[int, list[dict[str, float]]] = collections.defaultdict(list)
    missed_all = 0
    scratch = tempfile.TemporaryDirectory(prefix="flowrra-baseline-")
    baseline = extract(args.baseline, Path(scratch.name)) if args.baseline else None
    try:
        for _ in range(args.reps):
            r.flushdb()
            figures["enqueue"].append(asyncio.run(enqueue(args.enqueue_n)))
            for workers in counts:
                r.flushdb()
                figures["enqueue_many"].append(asyncio.run(enqueue_many(args.n)))
                result = drain(r, args.n, workers, extra)
                assert result["left_unacked"] == 0, result
                figures[f"drain{workers}"].append(result["rate"])
                figures[f"incl{workers}"].append(result["incl_startup"])
                stats[workers].append(result)
            if baseline is not None:  # the same drain, by one worker of the baseline
                r.flushdb()
                asyncio.run(enqueue_many(args.n))
                result = drain(r, args.n, counts[0], extra, baseline)
                assert result["left_unacked"] == 0, result
                figures["baseline_drain"].append(result["rate"])
                figures["baseline_cpu"].append(result["worker_cpu_us_per_task"])
            r.flushdb()
            procs = start_workers(1, extra)
            try:
                wait_idle(r, 1)
                samples, missed = asyncio.run(round_trips(args.latency_n))
            finally:
                stop_workers(procs)
            figures["p50"].append(1000 * percentile(samples, 50))
            figures["p99"].append(1000 * percentile(samples, 99))
            missed_all += missed
        checkouts = {"this": ROOT} | ({"baseline": baseline} if baseline is not None else {})
        memory = queued_bytes(checkouts, args.memory_n)
    finally:
        r.flushdb()
        scratch.cleanup()
    ours = {name: statistics.median(values) for name, values in figures.items()}
    settings = " ".join(extra) or "defaults"
    print(f"flowrra (this checkout), Redis broker + backend, worker {settings}, reps={args.reps}")
    print(f"  enqueue/s, 1 client, submit one by one:  {med(figures['enqueue'])}")
    print(f"  enqueue/s, 1 client, submit_many x1000:  {med(figures['enqueue_many'])}")
    base = counts[0]
    ours["drain"] = ours[f"drain{base}"]
    for workers in counts:
        rate, ratio = med(figures[f"drain{workers}"]), ours[f"drain{workers}"] / ours["drain"]
        print(f"  drain/s, {args.n:,} queued, {workers} worker(s): {rate}  ({ratio:.2f}x "
              f"{base}); incl. start-up {med(figures[f'incl{workers}'])}")  # fmt: skip
    print(f"  round trip ms ({args.latency_n} x {args.reps}), median of p50 / p99: "
          f"{ours['p50']:.2f} / {ours['p99']:.2f}  (p50 {_join(figures['p50'])}; "
          f"p99 {_join(figures['p99'])})")  # fmt: skip
    print(f"  lost wake-ups (5 s timeouts):            {missed_all}")
    for name in ("worker_cpu_us_per_task", "redis_cpu_us_per_task", "redis_cmds_per_task"):
        by_count = " / ".join(
            f"{statistics.median(s[name] for s in stats[workers]):.2f}" for workers in counts
        )
        print(f"  drain {name}, {' / '.join(map(str, counts))} workers: {by_count}")
    if baseline is not None:
        _beside_baseline(args.baseline, counts[0], stats[counts[0]], figures, memory)
    elif memory:
        print(f"  memory per queued task: {memory['this']:,.0f} bytes")
    if args.peers:
        _compare(args.peers, ours)


def _beside_baseline(
    ref: str,
    workers: int,
    stats: list[dict[str, float]],
    figures: dict[str, list[float]],
    memory: dict[str, float],
) -> None:
    """Our figures beside the baseline's, measured in the same run, with the ratios."""
    cpu = statistics.median(s["worker_cpu_us_per_task"] for s in stats)
    base_cpu = statistics.median(figures["baseline_cpu"])
    drain = statistics.median(figures[f"drain{workers}"])
    base_drain = statistics.median(figures["baseline_drain"])
    print(f"\nbeside flowrra at {ref} (same run, {workers} worker(s), medians):")
    print(f"  drain/s:                  {drain:>9,.0f}  vs {base_drain:>9,.0f}  "
          f"{drain / base_drain:.2f}x  (baseline {med(figures['baseline_drain'])})")  # fmt: skip
    print(f"  worker CPU us per task:   {cpu:>9.2f}  vs {base_cpu:>9.2f}  "
          f"{cpu / base_cpu:.2f}x")  # fmt: skip
    if memory:
        this, base = memory["this"], memory["baseline"]
        print(f"  memory per queued task:   {this:>9,.0f}  vs {base:>9,.0f}  "
              f"{this / base:.2f}x bytes (private redis-server)")  # fmt: skip


def _compare(path: Path, ours: dict[str, float]) -> None:
    print(f"\npeers from {path} (same session):")
    for line in path.read_text().splitlines():
        record = json.loads(line)
        drain = (record.get("drain_per_s") or {}).get("median")
        if not drain:
            continue
        latency = record.get("latency_ms") or {}
        enqueue = record["enqueue_per_s"]["median"]
        label = f"{record['system']} {record['versions'].get(record['system'], '')} "
        label += f"[{record['variant']}]"
        print(
            f"  {label:40} enqueue/s {enqueue:>7,.0f}  drain/s "
            f"{drain:>7,.0f}  p50 {latency.get('p50', float('nan')):6.2f} ms  p99 "
            f"{latency.get('p99', float('nan')):8.2f} ms  -> ours: drain "
            f"{ours['drain'] / drain:.1f}x, enqueue {ours['enqueue'] / enqueue:.1f}x"
        )


if __name__ == "__main__":
    main()
