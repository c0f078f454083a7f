"""Submitting from a sync Django view, ours beside the peers, in the same run.

One process calls a real view N times through Django's test client; the view submits one
no-op task per request and answers. Figures: requests (= tasks enqueued) per second, and
p50 / p99 of the submit call itself, timed inside the view, and the process's CPU time
per request (on a loaded host, waits for fsync and for the servers dominate the wall-clock
figures; CPU time shows the work each side does in the web process). Each side runs in a child
process of its own interpreter (the peers in their virtualenvs), on the same server:

* ``sqlite`` / ``postgres``: ours ``flowrra_django.submit(noop, i)`` on ``django://``
  (broker and results in the database) beside django-tasks-db's ``noop.enqueue(i)``
  (django-tasks 0.12 + django-tasks-db 0.13, the peer harness's task), on the same database:
  a SQLite file in /tmp, or ``flowrra_bench_submit`` on the PostgreSQL server. Each in
  autocommit, and inside ``transaction.atomic()`` (as with ``ATOMIC_REQUESTS``).
* ``redis``: ours with broker and results on Redis beside Celery 5.7's ``noop.delay(i)``
  (Redis broker and result backend, its defaults), on the same Redis server, each under a
  key prefix of its own, deleted at the end (Django is added to Celery's virtualenv for
  the view).

Each repetition also times the same view without a submit ("floor": Django's test client,
URL resolving, the view and its response), which both sides pay; the last lines compare
what each side adds to it. On a database it also times the view doing the least a durable
submit can do ("commit": one one-row ``INSERT`` of a 300-byte payload, committed): how far
below the peer any submit that waits for its commit can go on this disk.

Both sides use persistent database connections (``CONN_MAX_AGE=None``): with Django's
default a request opens a connection, which on PostgreSQL costs more than the submit.
Repetitions alternate peer then ours, so that on a shared host both see the same moments;
each figure is the median of BENCH_REPS, printed with the load average.

    .venv/bin/python bench/bench_submit.py                  # sqlite, postgres, redis
    .venv/bin/python bench/bench_submit.py redis --no-peer
    .venv/bin/python bench/bench_submit.py --table /tmp/flowrra-bench/submit.jsonl

Knobs (environment): BENCH_N (2000 requests per run; 5000 on Redis), BENCH_REPS (3),
RESULTS_FILE (/tmp/flowrra-bench/submit.jsonl), PEERS_DIR, PEERS_VENV, BENCH_DATABASE_URL,
BENCH_REDIS_URL (redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
N = int(os.environ.get("BENCH_N", "2000"))
REDIS_N = int(os.environ.get("BENCH_N", "5000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
WARMUP = 100
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/submit.jsonl"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_DATABASE = "flowrra_bench_submit"
SQLITE_FILE = "/tmp/flowrra-bench-submit.sqlite3"
PREFIX = "flowrra-bench-submit"
#: What runs on each kind: (system, variant) pairs, the peer first.
SIDES = {
    "sqlite": [("djtasks", "autocommit"), ("flowrra", "autocommit")],
    "postgres": [("djtasks", "autocommit"), ("flowrra", "autocommit")],
    "redis": [("celery", "autocommit"), ("flowrra", "autocommit")],
}
#: The view without a submit, in our interpreter: what both sides pay per request.
FLOOR = ("floor", "autocommit")
#: The view doing one one-row INSERT, committed: the least a durable submit adds.
COMMIT = ("commit", "autocommit")
COMMIT_TABLE = "bench_submit_commit"
ATOMIC = {"sqlite", "postgres"}
GOALS = {"sqlite": 2.0, "postgres": 2.0, "redis": 3.0}
REDIS_P50_GOAL_MS = 0.3


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# -- the child: one side, one repetition (only the standard library above this line) ----------


def settings_for(system: str, kind: str) -> dict[str, Any]:
    if kind == "postgres":
        from urllib.parse import urlsplit

        server = urlsplit(os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/"))
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": PG_DATABASE,
            "USER": server.username or "root",
            "PASSWORD": server.password or "",
            "HOST": server.hostname or "127.0.0.1",
            "PORT": server.port or 5432,
        }
    else:  # on Redis the site still has a database, which the submit does not touch
        # every side with the options flowrra_django gives a SQLite file (WAL among them,
        # whose commit costs one fsync where the default journal's costs two)
        from flowrra_django.sqlite_options import SQLITE_OPTIONS

        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_FILE,
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    database["CONN_MAX_AGE"] = None
    apps = ["django.contrib.contenttypes", "django.contrib.auth"]
    extra: dict[str, Any] = {}
    if system == "flowrra":
        apps.append("flowrra_django")
        url = "django://" if kind != "redis" else f"{REDIS_URL}?key_prefix={PREFIX}"
        extra["FLOWRRA"] = {"BROKER_URL": url, "RESULT_BACKEND": url}
    elif system == "djtasks":
        apps += ["django_tasks", "django_tasks_db"]
        extra["TASKS"] = {
            "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
        }
    return {
        "SECRET_KEY": "bench-not-secret",
        "DEBUG": False,
        "USE_TZ": True,
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": "bench_submit_urls",
        "MIDDLEWARE": [],
        "INSTALLED_APPS": apps,
        "DATABASES": {"default": database},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        **extra,
    }


def submitter(system: str) -> Any:
    """The submit of ``system``: one no-op task with argument ``i`` (none for the floor)."""
    if system == "floor":
        return lambda i: None
    if system == "commit":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {COMMIT_TABLE} (id integer PRIMARY KEY, payload text)")
        payload, ids = "x" * 300, itertools.count()

        def commit(i: int) -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {COMMIT_TABLE} (id, payload) VALUES (%s, %s)",
                    [next(ids), payload],
                )

        return commit
    if system == "flowrra":
        import flowrra_django

        @flowrra_django.task(name="bench.noop")
        async def noop(x: int) -> int:
            return x

        return lambda i: flowrra_django.submit(noop, i)
    if system == "djtasks":
        sys.path.insert(0, str(PEERS_DIR))
        from djbench_tasks import noop as dj_noop  # the peer harness's task

        return dj_noop.enqueue
    from celery import Celery

    celery = Celery("bench_submit", broker=REDIS_URL, backend=REDIS_URL)
    celery.conf.broker_transport_options = {"global_keyprefix": f"{PREFIX}-celery:"}

    @celery.task(name="bench.noop")
    def celery_noop(x: int) -> int:
        return x

    return celery_noop.delay


def measure(system: str, kind: str, variant: str) -> None:
    """One repetition of one side; prints its figures as JSON."""
    import types

    import django
    from django.conf import settings

    settings.configure(**settings_for(system, kind))
    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.http import HttpRequest, HttpResponse
    from django.test import Client
    from django.urls import path

    call_command("migrate", verbosity=0)
    submit = submitter(system)
    times: list[float] = []
    atomic = variant == "atomic"

    def view(request: HttpRequest) -> HttpResponse:
        i = int(request.GET["i"])
        started = time.perf_counter()
        if atomic:
            with transaction.atomic():
                submit(i)
        else:
            submit(i)
        times.append(time.perf_counter() - started)
        return HttpResponse("queued")

    urls = types.ModuleType("bench_submit_urls")
    urls.urlpatterns = [path("submit/", view)]  # type: ignore[attr-defined]
    sys.modules["bench_submit_urls"] = urls
    client = Client()
    n = REDIS_N if kind == "redis" else N
    for i in range(WARMUP):
        assert client.get("/submit/", {"i": i}).status_code == 200
    times.clear()
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        client.get("/submit/", {"i": i})
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ordered = sorted(times)
    print(
        json.dumps(
            {
                "per_s": n / elapsed,
                "submit_per_s": n / sum(times),
                "cpu_us": 1e6 * cpu / n,
                "p50_ms": 1000 * ordered[len(ordered) // 2],
                "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
                "n": n,
                "queued": queued(system, kind, n + WARMUP),
            }
        )
    )


def queued(system: str, kind: str, expected: int) -> bool:
    """Whether every submitted task is waiting in the queue (a check, not a figure)."""
    if system in ("floor", "commit"):
        return True
    if system == "flowrra" and kind != "redis":
        from flowrra_django.models import QueuedMessage

        return QueuedMessage.objects.count() == expected
    if system == "djtasks":
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.count() == expected
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    if system == "celery":
        return client.llen(f"{PREFIX}-celery:celery") == expected
    from flowrra_django import runtime

    app = runtime.get_app()
    return sum(runtime.run_sync(lambda: app.broker_required.queue_sizes()).values()) == expected


# -- the parent -------------------------------------------------------------------------------

PEERS_DIR = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "bench"))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv"))
PEER_VENVS = {"djtasks": "djtasks", "celery": "celery"}


def python_for(system: str) -> str:
    if system in ("flowrra", "floor", "commit"):
        return sys.executable
    venv = PEERS_VENV / PEER_VENVS[system]
    if not (venv / ".peers-ok").exists():
        log(f"creating the {system} virtualenv with the peer harness's setup_venvs.sh")
        subprocess.run(
            ["bash", str(PEERS_DIR / "setup_venvs.sh"), PEER_VENVS[system]],
            env={**os.environ, "PEERS_VENV": str(PEERS_VENV)},
            check=True,
        )
    python = str(venv / "bin" / "python")
    if system == "celery" and subprocess.run([python, "-c", "import django"]).returncode:
        log("adding Django 5.2 to Celery's virtualenv (for the view)")
        subprocess.run([python, "-m", "pip", "install", "-q", "Django==5.2.19"], check=True)
    return python


def run_once(system: str, kind: str, variant: str) -> dict[str, Any]:
    clean(kind)
    done = subprocess.run(
        [python_for(system), __file__, "--measure", system, kind, variant],
        cwd=BENCH,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}"},
        check=True,
        timeout=1800,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not figures["queued"]:
        raise RuntimeError(f"{system} [{kind}, {variant}]: not every task was queued")
    log(
        f"{system} [{kind}, {variant}]: {figures['per_s']:,.0f} requests/s, "
        f"{figures['submit_per_s']:,.0f} submits/s, {figures['cpu_us']:,.0f} us CPU, p50 "
        f"{figures['p50_ms']:.3f} ms  p99 {figures['p99_ms']:.3f} ms"
    )
    return figures


def clean(kind: str) -> None:
    """A fresh database (both sides' tables are made by migrate), or Redis without the keys
    of the previous run: only ours, never a FLUSHDB on the shared server."""
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{PREFIX}*", count=1000):
            client.delete(key)
        client.close()
        return
    from bench_django_broker import recreate_database

    recreate_database(kind, SQLITE_FILE, PG_DATABASE)


def drop(kind: str) -> None:
    from bench_django_broker import drop_database

    if kind == "redis":
        clean(kind)
    drop_database("sqlite" if kind == "redis" else kind, SQLITE_FILE, PG_DATABASE)


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measure"]:
        measure(*argv[1:4])
        return
    if argv[:1] == ["--table"]:  # the table of an earlier run's JSON lines
        lines = Path(argv[1]).read_text().splitlines()
        print(table([json.loads(line) for line in lines if line], []))
        return
    sys.path[:0] = [str(ROOT), str(BENCH)]
    with_peer = "--no-peer" not in argv
    kinds = [a for a in argv if not a.startswith("--")] or ["sqlite", "postgres", "redis"]
    loads = [os.getloadavg()]
    records = []
    for kind in kinds:
        sides = [s for s in SIDES[kind] if with_peer or s[0] == "flowrra"]
        if kind in ATOMIC:
            sides += [(system, "atomic") for system, _ in sides]
        sides.append(FLOOR)
        if kind in ATOMIC:
            sides.append(COMMIT)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {side: [] for side in sides}
        try:
            for rep in range(REPS):  # interleaved: both see the same moments of a noisy host
                log(f"[{kind}] repetition {rep + 1} of {REPS}")
                for system, variant in sides:
                    runs[system, variant].append(run_once(system, kind, variant))
                loads.append(os.getloadavg())
        finally:
            drop(kind)
        for (system, variant), side_runs in runs.items():
            records.append(
                {
                    "kind": kind,
                    "system": system,
                    "variant": variant,
                    "n": side_runs[0]["n"],
                    "reps": len(side_runs),
                    "per_s": round(median(side_runs, "per_s"), 1),
                    "per_s_runs": [round(run["per_s"], 1) for run in side_runs],
                    "submit_per_s": round(median(side_runs, "submit_per_s"), 1),
                    "cpu_us": round(median(side_runs, "cpu_us"), 1),
                    "p50_ms": round(median(side_runs, "p50_ms"), 3),
                    "p99_ms": round(median(side_runs, "p99_ms"), 3),
                }
            )
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    print(table(records, loads))
    print(f"\nJSON lines: {RESULTS_FILE}")


def table(records: list[dict[str, Any]], loads: list[tuple[float, float, float]]) -> str:
    lines = [
        f"Submit from a sync Django view through the test client, median of {REPS} "
        "interleaved runs (persistent DB connections). requests/s: the whole request; "
        "submits/s: the submit call alone (timed inside the view); CPU: the web process's "
        "CPU time per request (what waiting for the disk or the server does not inflate).",
        "",
        "| kind | system | variant | requests/s (runs) | vs peer | submits/s | vs peer "
        "| CPU us/request | submit p50 ms | p99 ms | goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rec in records:
        if rec["system"] in ("floor", "commit"):
            continue
        peer = peer_of(records, rec["kind"], rec["variant"])
        ratio = submit_ratio = goal = ""
        if rec["system"] == "flowrra" and peer is not None:
            times = rec["per_s"] / peer["per_s"]
            ratio = f"{times:.2f}x"
            submit_ratio = f"{rec['submit_per_s'] / peer['submit_per_s']:.2f}x"
            wanted = GOALS[rec["kind"]]
            goal = f">= {wanted:g}x: {'met' if times >= wanted else 'NOT met'}"
        if rec["system"] == "flowrra" and rec["kind"] == "redis":
            met = rec["p50_ms"] <= REDIS_P50_GOAL_MS
            goal += f"; p50 <= {REDIS_P50_GOAL_MS} ms: {'met' if met else 'NOT met'}"
        runs = ", ".join(f"{v:,.0f}" for v in rec["per_s_runs"])
        lines.append(
            f"| {rec['kind']} | {rec['system']} | {rec['variant']} | {rec['per_s']:,.0f} "
            f"({runs}) | {ratio} | {rec['submit_per_s']:,.0f} | {submit_ratio} "
            f"| {rec.get('cpu_us', 0):,.0f} | {rec['p50_ms']:.3f} | {rec['p99_ms']:.3f} | {goal} |"
        )
    lines += above_the_floor(records)
    if loads:
        load = " / ".join(f"{one:.2f}" for one, _, _ in loads)
        lines += ["", f"Load average (1 min) at the start and after each repetition: {load}"]
    return "\n".join(lines)


def peer_of(records: list[dict[str, Any]], kind: str, variant: str) -> dict[str, Any] | None:
    """The peer's record of ``kind`` and ``variant``."""
    return next(
        (
            r
            for r in records
            if r["kind"] == kind
            and r["variant"] == variant
            and r["system"] not in ("flowrra", "floor", "commit")
        ),
        None,
    )


def above_the_floor(records: list[dict[str, Any]]) -> list[str]:
    """Per kind: the floor's time per request, and what each side adds to it (its
    requests' time less the floor), with the ratio of those; on a database, what one
    committed one-row insert adds, and what the goal leaves a submit."""
    lines = []
    for floor in (r for r in records if r["system"] == "floor"):
        base = 1e6 / floor["per_s"]
        parts = []
        for variant in ("autocommit", "atomic"):
            sides = {
                r["system"]: 1e6 / r["per_s"] - base
                for r in records
                if r["kind"] == floor["kind"]
                and r["variant"] == variant
                and r["system"] not in ("floor", "commit")
            }
            if len(sides) == 2:
                ours = sides.pop("flowrra")
                peer = sides.popitem()[1]
                parts.append(
                    f"{variant}: ours +{ours:,.0f} us, peer +{peer:,.0f} us ({peer / ours:.2f}x)"
                )
        lines.append(
            f"\n{floor['kind']}: the view without a submit takes {base:,.0f} us a request "
            f"({floor['cpu_us']:,.0f} us CPU); a submit adds: {'; '.join(parts)}"
        )
        commit = next(
            (r for r in records if r["kind"] == floor["kind"] and r["system"] == "commit"), None
        )
        peer_side = peer_of(records, floor["kind"], "autocommit")
        if commit is not None and peer_side is not None:
            wanted = GOALS[floor["kind"]]
            allowed = 1e6 / (peer_side["per_s"] * wanted) - base
            least = 1e6 / commit["per_s"] - base
            lines.append(
                f"{floor['kind']}: one one-row INSERT committed adds +{least:,.0f} us; "
                f"{wanted:g}x the peer (autocommit) leaves a submit +{allowed:,.0f} us"
            )
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
