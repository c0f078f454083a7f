"""The scaling model's inputs, measured, and what they predict (docs/scaling.md).

Per task while one worker drains a backlog of no-op tasks: the worker's CPU, the server's CPU
(Redis, or the PostgreSQL backends serving the worker) and its commands (Redis) or
transactions (PostgreSQL); and the memory one queued task takes. For the Redis broker and
backend, on a redis-server of the bench's own (a free loopback port, no persistence), with
``bench_redis.drain``; for ``django://`` on PostgreSQL in a database of its own,
``flowrra_bench_scale``, dropped at the end. Medians of ``--reps`` runs, the two brokers
interleaved; then the model: tasks/s per worker core and per server core, worker cores one
Redis keeps busy, and the prediction for a 16-core machine.

    .venv/bin/python bench/bench_scale.py [--n 20000] [--db-n 5000] [--reps 3]

BENCH_DATABASE_URL names the PostgreSQL server (default postgres://root@127.0.0.1:5432/postgres).
The server's CPU is read from /proc: both servers must run on this machine.
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
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import bench_django_broker as dj  # noqa: E402

PG_DATABASE = "flowrra_bench_scale"
#: The machine the model predicts for.
CORES = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- Redis ------------------------------------------------------------------------------------


def redis_rep(n: int) -> dict[str, Any]:
    """Queue ``n`` tasks (``submit_many``), drain them with one worker; the per-task figures."""
    import bench_redis as br
    import redis

    r = redis.Redis.from_url(br.URL)
    r.flushdb()
    before = int(r.info("memory")["used_memory"])
    asyncio.run(br.enqueue_many(n))
    queued = int(r.info("memory")["used_memory"]) - before
    messages = sum(int(r.memory_usage(key, samples=0) or 0) for key in r.scan_iter("flowrra:q:*"))
    calls = _command_calls(r)
    result = br.drain(r, n, 1, [])
    assert result["left_unacked"] == 0, result
    drained = {k: v - calls.get(k, 0) for k, v in _command_calls(r).items()}
    for own in ("zcard", "scan", "hlen", "llen", "info"):  # the bench's own
        drained.pop(own, None)
    stored = int(r.info("memory")["used_memory"]) - before
    r.flushdb()
    sent = monitored_drain(r, n // 4)
    return {
        "rate": result["rate"],
        "worker_us": result["worker_cpu_us_per_task"],
        "server_us": result["redis_cpu_us_per_task"],
        "calls_per_task": sum(sent.values()) / (n // 4),
        "scripts_per_task": sent["evalsha"] / (n // 4),
        "executed_per_task": sum(drained.values()) / n,
        "queued_bytes": queued / n,
        "message_bytes": messages / n,
        "result_bytes": stored / n,
    }


def monitored_drain(r: Any, n: int) -> collections.Counter[str]:
    """Drain ``n`` queued tasks under ``MONITOR`` (slow: no CPU figures from this one); the
    commands the worker sent, by name (those its scripts ran are not counted)."""
    import bench_redis as br

    asyncio.run(br.enqueue_many(n))
    port = str(r.connection_pool.connection_kwargs["port"])
    with tempfile.TemporaryFile("w+") as log:
        monitor = subprocess.Popen(["redis-cli", "-p", port, "monitor"], stdout=log)
        try:
            time.sleep(0.2)
            br.drain(r, n, 1, [])
        finally:
            os.kill(monitor.pid, signal.SIGTERM)
            monitor.wait(20)
        log.seek(0)
        sent = collections.Counter(
            line.split('"')[1].lower()
            for line in log
            if '"' in line and not line.split('"')[0].rstrip().endswith("lua]")
        )
    r.flushdb()
    for own in ("zcard", "scan", "hlen", "llen", "info", "monitor"):  # the bench's own
        sent.pop(own, None)
    return sent


def _command_calls(r: Any) -> dict[str, int]:
    stats = r.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


# -- PostgreSQL (in a child process: Django's settings are per process) -------------------------


def postgres_rep(n: int) -> dict[str, float]:
    """In the child: queue ``n`` tasks one by one, drain them with one worker process."""
    from django.db import connection

    import flowrra_django
    from flowrra_django import runtime
    from tests.django.testapp.tasks import noop

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE flowrra_django_queuedmessage, flowrra_django_taskresult, "
            "flowrra_django_workerheartbeat"
        )
    for i in range(n):
        flowrra_django.submit(noop, i)
    runtime.shutdown()
    sizes = _sql(
        "SELECT pg_total_relation_size('flowrra_django_queuedmessage'), "
        "pg_total_relation_size('flowrra_django_taskresult')"
    )
    commits_before = _commits()  # one transaction of this process's, and three more below
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "flowrra_worker", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=dj.environment("postgres") | {"BENCH_DB_NAME": PG_DATABASE},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    polls = 0
    try:
        first = None
        while True:
            done = _sql("SELECT count(*) FROM flowrra_django_taskresult WHERE status = 'success'")
            polls += 1
            now = time.perf_counter()
            if done[0] and first is None:
                first = (now, done[0], _cpu(worker.pid), _backends_cpu())
            if done[0] >= n:
                break
            if worker.poll() is not None:
                raise RuntimeError("the worker exited")
            time.sleep(0.01)
        assert first is not None
        finished = n - first[1]
        worker_us = 1e6 * (_cpu(worker.pid) - first[2]) / finished
        server_us = 1e6 * (_backends_cpu() - first[3]) / finished
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(60)
    time.sleep(1.0)  # the worker's server processes report their counts as they end
    return {
        "rate": finished / (now - first[0]),
        "worker_us": worker_us,
        "server_us": server_us,
        "calls_per_task": (_commits() - commits_before - polls - 3) / n,
        "message_bytes": sizes[0] / n,
        "queued_bytes": (sizes[0] + sizes[1]) / n,
    }


def _sql(statement: str) -> tuple[Any, ...]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)
        return tuple(cursor.fetchone())


def _commits() -> int:
    """Transactions committed in this database; this process's own counted (its session
    is closed first, which reports them)."""
    from django.db import connection

    connection.close()
    time.sleep(0.5)
    return int(
        _sql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")[0]
    )


def _backends_cpu() -> float:
    """CPU seconds of the server processes serving this database, but this process's."""
    rows = _sql(
        "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return sum(_cpu(pid) for pid in rows[0])


def _cpu(pid: int) -> float:
    import bench_redis as br

    cpu = br.cpu_seconds(pid)
    return 0.0 if cpu != cpu else cpu  # a process that has ended: nothing more to count


def postgres_child(n: int) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(json.dumps(postgres_rep(n)))


def run_postgres(n: int) -> dict[str, float]:
    env = dj.environment("postgres") | {"BENCH_DB_NAME": PG_DATABASE}
    dj.recreate_database("postgres", pg=PG_DATABASE)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--postgres-child", str(n)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        ).stdout
    finally:
        dj.drop_database("postgres", pg=PG_DATABASE)
    return json.loads(out.strip().splitlines()[-1])


# -- the model ----------------------------------------------------------------------------------


def model(redis_figures: dict[str, float], pg_figures: dict[str, float]) -> list[str]:
    w, s = redis_figures["worker_us"], redis_figures["server_us"]
    per_worker, per_redis = 1e6 / w, 1e6 / s
    best = max(range(1, CORES), key=lambda k: min((CORES - k) * per_worker, k * per_redis))
    lines = [
        "model (CPU-bound, no-op tasks; a real task adds its own CPU to the worker's share):",
        f"  Redis: one worker core drains <= {per_worker:,.0f} tasks/s; one Redis core (a shard)"
        f" serves <= {per_redis:,.0f} tasks/s, the work of {w / s:.1f} worker cores",
        f"  Redis on {CORES} cores: 1 shard + {CORES - 1} worker cores -> "
        f"{min((CORES - 1) * per_worker, per_redis):,.0f} tasks/s; {best} shard(s) + "
        f"{CORES - best} worker cores -> "
        f"{min((CORES - best) * per_worker, best * per_redis):,.0f} tasks/s",
    ]
    pw, ps = pg_figures["worker_us"], pg_figures["server_us"]
    lines += [
        f"  django:// on PostgreSQL: one worker core drains <= {1e6 / pw:,.0f} tasks/s and needs"
        f" {ps / pw:.2f} server cores; on {CORES} cores (CPU only, no lock waits) <= "
        f"{CORES * 1e6 / (pw + ps):,.0f} tasks/s",
    ]
    return lines


def med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks per Redis drain")
    parser.add_argument("--db-n", type=int, default=5_000, help="tasks per PostgreSQL drain")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--postgres-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres_child:
        postgres_child(args.postgres_child)
        return
    port = free_port()
    no_persistence = ["--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *no_persistence],
        stdout=subprocess.DEVNULL,
    )
    os.environ["FLOWRRA_BENCH_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    load = [Path("/proc/loadavg").read_text().split()[0]]
    redis_runs: list[dict[str, Any]] = []
    pg_runs: list[dict[str, Any]] = []
    try:
        time.sleep(0.3)
        for rep in range(args.reps):
            redis_runs.append(redis_rep(args.n))
            pg_runs.append(run_postgres(args.db_n))
            dj.log(f"rep {rep + 1}: redis {redis_runs[-1]['rate']:,.0f}/s, "
                   f"postgres {pg_runs[-1]['rate']:,.0f}/s")  # fmt: skip
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(20)
    load.append(Path("/proc/loadavg").read_text().split()[0])
    print(f"bench_scale: medians of {args.reps} interleaved runs; load average {' -> '.join(load)}")
    for name, runs, unit, n in (
        ("Redis broker + backend", redis_runs, "commands sent", args.n),
        ("django:// on PostgreSQL", pg_runs, "transactions", args.db_n),
    ):
        print(f"  {name}, {n:,} no-op tasks, 1 worker: drain {med(runs, 'rate'):,.0f}/s")
        print(f"    worker CPU {med(runs, 'worker_us'):.1f} us/task, server CPU "
              f"{med(runs, 'server_us'):.1f} us/task, {med(runs, 'calls_per_task'):.3f} "
              f"{unit}/task")  # fmt: skip
        print(f"    memory per queued task {med(runs, 'queued_bytes'):,.0f} bytes (message "
              f"{med(runs, 'message_bytes'):,.0f}, the rest its PENDING result)")  # fmt: skip
    print(f"  Redis per stored result (kept for the TTL): {med(redis_runs, 'result_bytes'):,.0f} B")
    scripts, executed = med(redis_runs, "scripts_per_task"), med(redis_runs, "executed_per_task")
    print(f"  Redis: {scripts:.3f} scripts sent per task; commands run per task, those inside "
          f"scripts too: {executed:.2f}")  # fmt: skip
    redis_medians = {k: med(redis_runs, k) for k in ("worker_us", "server_us")}
    pg_medians = {k: med(pg_runs, k) for k in ("worker_us", "server_us")}
    for line in model(redis_medians, pg_medians):
        print(line)


if __name__ == "__main__":
    main()
