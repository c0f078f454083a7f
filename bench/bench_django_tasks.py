"""Django-Tasks tasks through FlowrraTaskBackend beside django-tasks-db's db_worker, same run.

The task is Django's ``@task def noop(x): return x`` on both sides. N tasks are enqueued one
by one with ``Task.enqueue`` (autocommit) from one process: enqueue/s. Then one worker drains
them: ours is ``manage.py flowrra_worker --burst`` (Flowrra's defaults, ``django://`` broker
and results), the peer's ``db_worker --batch`` (``../shared/bench/bench_djtasks.py``, run in
its own virtualenv). Drain/s = N / (last finished - first started), read back from each
side's result table (worker start-up excluded); every task must have succeeded.

Both run on the same database, a database of this benchmark's own (a SQLite file in /tmp;
``flowrra_bench_djtasks`` on the PostgreSQL server), created first and dropped at the end.
The peer's PostgreSQL rows are with Django's default ``CONN_MAX_AGE=0`` and with persistent
connections. The repetitions alternate, peer then ours, so that on a shared, noisy host both
see the same moments; each figure is the median of BENCH_REPS.

    .venv/bin/python bench/bench_django_tasks.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/bench_django_tasks.py sqlite --no-peer

Knobs (environment): BENCH_N (2000), BENCH_REPS (3), RESULTS_FILE
(/tmp/flowrra-bench/django_tasks.jsonl), PEERS_DIR, PEERS_VENV, BENCH_DATABASE_URL (as in
bench_django_broker.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_django_broker import (
    PEERS_DIR,
    PEERS_VENV,
    drop_database,
    log,
    recreate_database,
    summarize,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
N = int(os.environ.get("BENCH_N", "2000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/django_tasks.jsonl"))
PG_DATABASE = "flowrra_bench_djtasks"
SQLITE_FILE = "/tmp/flowrra-bench-djtasks.sqlite3"
PEER_KINDS = {"sqlite": ["sqlite"], "postgres": ["postgres", "postgres-persistent"]}


def environment(kind: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "django_tasks_bench_settings",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}",
        "BENCH_DB": kind,
        "BENCH_DB_NAME": PG_DATABASE if kind == "postgres" else SQLITE_FILE,
    }


# -- ours (in a child process: Django settings are per process) --------------------------------


def measure(kind: str) -> None:
    """One repetition of ours; prints its figures as JSON."""
    os.environ.update(environment(kind))
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.db.models import Max, Min

    from flowrra_django import runtime
    from flowrra_django.models import QueuedMessage, TaskResult
    from tests.django.testapp.dj_tasks import noop

    call_command("migrate", verbosity=0)
    TaskResult.objects.all().delete()
    QueuedMessage.objects.all().delete()
    started = time.perf_counter()
    for i in range(N):
        noop.enqueue(i)
    enqueue = N / (time.perf_counter() - started)
    runtime.shutdown()
    connections.close_all()
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
    done = TaskResult.objects.filter(status="success", task_name=noop.module_path)
    if done.count() != N or QueuedMessage.objects.exists():
        raise RuntimeError(f"only {done.count()}/{N} tasks succeeded")
    span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
    figures = {
        "enqueue": enqueue,
        "drain": N / (span["last"] - span["first"]).total_seconds(),
        "drain_incl": N / wall,
        "label": "SQLite"
        if kind == "sqlite"
        else f"PostgreSQL {connections['default'].pg_version // 10000}",
    }
    connections.close_all()
    print(json.dumps(figures))


def ours_once(kind: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind],
        check=True,
        timeout=1800,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    log(
        f"flowrra [{kind}]: enqueue {figures['enqueue']:,.0f}/s  drain "
        f"{figures['drain']:,.0f}/s (incl. start-up {figures['drain_incl']:,.0f}/s)"
    )
    return figures


def our_record(kind: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "date": dt.date.today().isoformat(),
        "system": "flowrra",
        "variant": f"FlowrraTaskBackend, django:// {runs[0]['label']}",
        "versions": {"flowrra": version("flowrra"), "django": version("django")},
        "python": platform.python_version(),
        "worker_settings": "manage.py flowrra_worker --burst (1 process, defaults; sync "
        "Django tasks in threads)",
        "n": N,
        "reps": len(runs),
        "enqueue_per_s": summarize([run["enqueue"] for run in runs]),
        "drain_per_s": summarize([run["drain"] for run in runs]),
        "drain_incl_startup_per_s": summarize([run["drain_incl"] for run in runs]),
        "notes": "Task.enqueue, autocommit; Django defaults (CONN_MAX_AGE 0); each repetition "
        "right after the peer's on the same database",
    }


# -- the peer, in its virtualenv, on the same database ----------------------------------------


def peer_once(variant: str) -> dict[str, Any]:
    """One repetition of the peer harness (``PEERS_REPS=1``); its JSON record."""
    python = PEERS_VENV / "djtasks" / "bin" / "python"
    if not python.exists():
        log("creating the django-tasks-db virtualenv with the peer harness's setup_venvs.sh")
        subprocess.run(
            ["bash", str(PEERS_DIR / "setup_venvs.sh"), "djtasks"],
            env={**os.environ, "PEERS_VENV": str(PEERS_VENV)},
            check=True,
        )
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as out:
        env = {
            **os.environ,
            "RESULTS_FILE": out.name,
            "PEERS_DJ_N": str(N),
            "PEERS_REPS": "1",
            "PEERS_DJ_LAT_N": "0",
            "PEERS_DJ_SQLITE": SQLITE_FILE,
            "PEERS_DJ_PGDB": PG_DATABASE,
        }
        subprocess.run(
            ["timeout", "1800", str(python), "bench_djtasks.py", variant],
            cwd=PEERS_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        record: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    return record


def peer_record(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The peer's repetitions as one record, as its harness writes them."""
    merged = {**runs[-1], "reps": len(runs)}
    for key in ("enqueue_per_s", "drain_per_s", "drain_incl_startup_per_s"):
        merged[key] = summarize([value for run in runs for value in run[key]["runs"]])
    return merged


def table() -> str:
    records = [json.loads(line) for line in RESULTS_FILE.read_text().splitlines() if line]
    lines = [
        f"One worker process, Django-Tasks no-op task, N={N}, median (min-max) of {REPS} runs",
        "",
        "| system | variant | enqueue/s | drain/s | drain incl. start-up/s | vs best peer row "
        "(enqueue, drain) |",
        "|---|---|---|---|---|---|",
    ]
    for rec in records:
        ratio = ""
        if rec["system"] == "flowrra":
            engine = "SQLite" if "SQLite" in rec["variant"] else "PostgreSQL"
            peers = [r for r in records if r["system"] != "flowrra" and engine in r["variant"]]
            if peers:
                enqueue = max(p["enqueue_per_s"]["median"] for p in peers)
                drain = max(p["drain_per_s"]["median"] for p in peers)
                ratio = (
                    f"{rec['enqueue_per_s']['median'] / enqueue:.1f}x, "
                    f"{rec['drain_per_s']['median'] / drain:.1f}x"
                )
        drain_range = rec["drain_per_s"]
        lines.append(
            f"| {rec['system']} | {rec['variant']} | {rec['enqueue_per_s']['median']:,.0f} | "
            f"{drain_range['median']:,.0f} ({drain_range['min']:,.0f}-{drain_range['max']:,.0f})"
            f" | {rec['drain_incl_startup_per_s']['median']:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measure"]:
        measure(argv[1])
        return
    with_peer = "--no-peer" not in argv
    kinds = [a for a in argv if not a.startswith("--")] or ["sqlite", "postgres"]
    records = []
    for kind in kinds:
        recreate_database(kind, SQLITE_FILE, PG_DATABASE)
        try:
            peers: dict[str, list[dict[str, Any]]] = {v: [] for v in PEER_KINDS[kind]}
            ours = []
            for rep in range(REPS):  # interleaved: both see the same moments of a noisy host
                log(f"[{kind}] repetition {rep + 1} of {REPS}")
                for variant in peers if with_peer else ():
                    peers[variant].append(peer_once(variant))
                ours.append(ours_once(kind))
            records += [peer_record(runs) for runs in peers.values() if runs]
            records.append(our_record(kind, ours))
        finally:
            drop_database(kind, SQLITE_FILE, PG_DATABASE)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    print(table())
    print(f"\nJSON lines: {RESULTS_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
