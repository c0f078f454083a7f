"""The django:// broker's drain rate and idle round trip beside django-tasks-db, same run.

One ``manage.py flowrra_worker --burst`` process, Flowrra's and Django's default settings, a
no-op async task, N tasks queued one by one with ``flowrra_django.submit`` (autocommit)
before the worker starts; drain rate = N / (last finished_at - first started_at) read back
from the result table (worker start-up excluded, as the peer harness does), and every one
of the N results must be SUCCESS. Then, with a worker running and idle, BENCH_LAT_N round
trips (submit, then wait for the result), each after BENCH_LAT_PAUSE seconds of quiet so
that the worker is idle as it is between a site's occasional tasks: p50 and p99.
Per database the peer (``../shared/bench/bench_djtasks.py``:
django-tasks-db's ``db_worker``, same N) runs first, then ours, so both see the same machine.

    .venv/bin/python bench/bench_django_broker.py             # SQLite, PostgreSQL, MariaDB
    .venv/bin/python bench/bench_django_broker.py mysql --no-peer

Knobs (environment): BENCH_N (5000), BENCH_REPS (3), BENCH_LAT_N (30), BENCH_LAT_PAUSE
(1.0), RESULTS_FILE (/tmp/flowrra-bench/django_broker.jsonl), PEERS_DIR (../shared/bench),
PEERS_VENV (/tmp/peers-venv; the peer's virtualenv is created there by its setup_venvs.sh if
missing),
BENCH_DATABASE_URL (PostgreSQL server), BENCH_MYSQL_URL (MariaDB/MySQL server). The servers
are used in a database of the benchmark's own, ``flowrra_bench_broker``, dropped at the end;
SQLite a file in /tmp. The peer harness measures django-tasks-db on SQLite and PostgreSQL
only; on MariaDB ``peer_djtasks_mysql.py`` measures it the same way (mysqlclient is added
to the peer's virtualenv for it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
N = int(os.environ.get("BENCH_N", "5000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
LAT_N = int(os.environ.get("BENCH_LAT_N", "30"))
LAT_PAUSE = float(os.environ.get("BENCH_LAT_PAUSE", "1.0"))
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/django_broker.jsonl"))
PEERS_DIR = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "bench"))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv"))
PG_DATABASE = "flowrra_bench_broker"
SQLITE_FILE = "/tmp/flowrra-bench-broker.sqlite3"
#: Our database -> the peer's variants on it.
PEER_KINDS = {
    "sqlite": ["sqlite"],
    "postgres": ["postgres", "postgres-persistent"],
    "mysql": ["mysql"],
}


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def environment(kind: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "django_bench_settings",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}",
        "BENCH_DB": kind,
        "BENCH_DB_NAME": SQLITE_FILE if kind == "sqlite" else PG_DATABASE,
    }


def summarize(values: list[float]) -> dict[str, object]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "runs": [round(v, 1) for v in values],
    }


# -- our measurement (runs in a child process: Django settings are per process) --------------


def admin_connection() -> object:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    return psycopg.connect(url, autocommit=True)


def mysql_server(statement: str) -> None:
    from urllib.parse import urlsplit

    import MySQLdb

    parts = urlsplit(os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
    connection = MySQLdb.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    connection.cursor().execute(statement)
    connection.close()


def recreate_database(kind: str, sqlite_file: str = SQLITE_FILE, pg: str = PG_DATABASE) -> None:
    if kind == "sqlite":
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(sqlite_file + suffix).unlink(missing_ok=True)
        return
    if kind == "mysql":
        mysql_server(f"DROP DATABASE IF EXISTS `{pg}`")
        mysql_server(f"CREATE DATABASE `{pg}` CHARACTER SET utf8mb4")
        return
    with admin_connection() as connection:  # type: ignore[attr-defined]
        connection.execute(f'DROP DATABASE IF EXISTS "{pg}"')
        connection.execute(f'CREATE DATABASE "{pg}"')


def drop_database(kind: str, sqlite_file: str = SQLITE_FILE, pg: str = PG_DATABASE) -> None:
    if kind == "sqlite":
        Path(sqlite_file).unlink(missing_ok=True)
        return
    if kind == "mysql":
        mysql_server(f"DROP DATABASE IF EXISTS `{pg}`")
        return
    with admin_connection() as connection:  # type: ignore[attr-defined]
        connection.execute(f'DROP DATABASE IF EXISTS "{pg}"')


def measure(kind: str) -> None:
    os.environ.update(environment(kind))
    sys.path[:0] = [str(ROOT), str(BENCH)]
    recreate_database(kind)
    try:
        import django

        django.setup()
        rec = run_reps(kind)
        rec["latency_ms"] = round_trips(kind)
        emit(rec)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(kind)


def run_reps(kind: str) -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connections
    from django.db.models import Max, Min

    import flowrra_django
    from flowrra_django import runtime
    from flowrra_django.models import QueuedMessage, TaskResult
    from tests.django.testapp.tasks import noop

    call_command("migrate", verbosity=0)
    enqueue, drain, drain_incl, cpu = [], [], [], []
    for rep in range(REPS):
        TaskResult.objects.all().delete()
        QueuedMessage.objects.all().delete()
        started = time.perf_counter()
        for i in range(N):
            flowrra_django.submit(noop, i)
        enqueue.append(N / (time.perf_counter() - started))
        runtime.shutdown()
        connections.close_all()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "django", "flowrra_worker", "--burst", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=environment(kind),
            stdout=subprocess.DEVNULL,
            check=True,
            timeout=600,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = TaskResult.objects.filter(status="success")
        if done.count() != N or QueuedMessage.objects.exists():
            raise RuntimeError(f"only {done.count()}/{N} tasks succeeded")
        span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
        seconds = (span["last"] - span["first"]).total_seconds()
        drain.append(N / seconds)
        drain_incl.append(N / wall)
        cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall)
        log(
            f"flowrra [{kind}] rep {rep + 1}: enqueue {enqueue[-1]:,.0f}/s  drain "
            f"{drain[-1]:,.0f}/s (incl. start-up {drain_incl[-1]:,.0f}/s)"
        )
    return record(kind, enqueue, drain, drain_incl, cpu)


def round_trips(kind: str) -> dict[str, float]:
    """Submit -> result round trips against an idle worker process; p50 and p99 in ms."""
    import flowrra_django
    from flowrra_django import runtime
    from flowrra_django.models import WorkerHeartbeat
    from tests.django.testapp.tasks import noop

    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "flowrra_worker", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=environment(kind),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not WorkerHeartbeat.objects.exists():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the worker did not start")
            time.sleep(0.05)
        app = runtime.get_app()
        samples = []
        for i in range(LAT_N):
            time.sleep(LAT_PAUSE)
            started = time.perf_counter()
            task_id = flowrra_django.submit(noop, i)
            result = runtime.run_sync(lambda: app.wait_for_result(task_id, timeout=30))  # noqa: B023
            samples.append(1000 * (time.perf_counter() - started))
            assert result.result == i
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        runtime.shutdown()
    ordered = sorted(samples)
    latency = {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))],
    }
    log(
        f"flowrra [{kind}] idle round trip p50 {latency['p50']:.1f} ms  p99 {latency['p99']:.1f} ms"
    )
    return latency


def record(
    kind: str, enqueue: list[float], drain: list[float], incl: list[float], cpu: list[float]
) -> dict[str, object]:
    from importlib.metadata import version

    from django.db import connection

    if kind == "mysql":
        server = "MariaDB" if connection.mysql_is_mariadb else "MySQL"
        label = f"{server} {'.'.join(map(str, connection.mysql_version[:2]))}"
    else:
        label = "SQLite" if kind == "sqlite" else f"PostgreSQL {connection.pg_version // 10000}"
    return {
        "date": dt.date.today().isoformat(),
        "system": "flowrra",
        "variant": f"django:// broker + results {label}",
        "versions": {"flowrra": version("flowrra"), "django": version("django")},
        "python": platform.python_version(),
        "worker_settings": "manage.py flowrra_worker --burst (1 process; defaults: 4 async "
        "runners, prefetch 64, claims and results in batches)",
        "n": N,
        "reps": REPS,
        "enqueue_per_s": summarize(enqueue),
        "drain_per_s": summarize(drain),
        "drain_incl_startup_per_s": summarize(incl),
        "drain_stats": {"worker_cpu_util": round(statistics.median(cpu), 3)},
        "notes": "Django defaults (CONN_MAX_AGE 0, SQLite rollback journal); the worker keeps "
        "one connection for its broker and results",
    }


def emit(rec: dict[str, object]) -> None:
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_FILE.open("a") as handle:
        handle.write(json.dumps(rec) + "\n")


# -- the run: peer, then ours, per database; then the table --------------------------------


def run_peer(kinds: list[str]) -> None:
    python = PEERS_VENV / "djtasks" / "bin" / "python"
    if not python.exists():
        log("creating the django-tasks-db virtualenv with the peer harness's setup_venvs.sh")
        subprocess.run(
            ["bash", str(PEERS_DIR / "setup_venvs.sh"), "djtasks"],
            env={**os.environ, "PEERS_VENV": str(PEERS_VENV)},
            check=True,
        )
    env = {
        **os.environ,
        "RESULTS_FILE": str(RESULTS_FILE),
        "PEERS_DJ_N": str(N),
        "PEERS_REPS": str(REPS),
        "PEERS_DJ_LAT_N": str(LAT_N),
    }
    for kind in kinds:
        log(f"django-tasks-db [{kind}]")
        script = "bench_djtasks.py"
        if kind == "mysql":
            script = str(BENCH / "peer_djtasks_mysql.py")
            env["PYTHONPATH"] = f"{PEERS_DIR}{os.pathsep}{BENCH}"
            has_driver = subprocess.run([str(python), "-c", "import MySQLdb"], check=False)
            if has_driver.returncode:
                subprocess.run(
                    [str(python), "-m", "pip", "install", "-q", "mysqlclient"], check=True
                )
        subprocess.run(
            ["timeout", "1800", str(python), script, kind],
            cwd=PEERS_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )


def table() -> str:
    records = [json.loads(line) for line in RESULTS_FILE.read_text().splitlines() if line]
    peers = [r for r in records if r["system"] == "django-tasks"]
    lines = [
        f"One worker process, no-op task, N={N}, median (min-max) of {REPS} runs",
        "",
        "| system | variant | enqueue/s | drain/s | drain incl. start-up/s | vs peer | "
        "idle round trip p50 / p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for rec in records:
        drain = rec["drain_per_s"]
        ratio = ""
        if rec["system"] == "flowrra":
            engine = next(
                e for e in ("SQLite", "PostgreSQL", "MariaDB", "MySQL") if e in rec["variant"]
            )
            same = [p for p in peers if engine in p["variant"]]
            if same:
                best = max(p["drain_per_s"]["median"] for p in same)
                ratio = f"{drain['median'] / best:.1f}x the best peer row"
        lines.append(
            f"| {rec['system']} | {rec['variant']} | {rec['enqueue_per_s']['median']:,.0f} | "
            f"{drain['median']:,.0f} ({drain['min']:,.0f}-{drain['max']:,.0f}) | "
            f"{rec['drain_incl_startup_per_s']['median']:,.0f} | {ratio} | {_latency(rec)} |"
        )
    return "\n".join(lines)


def _latency(rec: dict[str, Any]) -> str:
    latency = rec.get("latency_ms")
    return f"{latency['p50']:.1f} / {latency['p99']:.1f}" if latency else "-"


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measure"]:
        measure(argv[1])
        return
    with_peer = "--no-peer" not in argv
    kinds = [a for a in argv if not a.startswith("--")] or ["sqlite", "postgres", "mysql"]
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text("")
    for kind in kinds:
        if with_peer:
            run_peer(PEER_KINDS[kind])
        log(f"flowrra django:// [{kind}]")
        subprocess.run([sys.executable, __file__, "--measure", kind], check=True, timeout=1800)
    print(table())
    print(f"\nJSON lines: {RESULTS_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
