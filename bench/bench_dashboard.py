"""Dashboard server time per page with 1,000,000 results and 100 workers on PostgreSQL.

Creates a database of its own (``flowrra_bench_dashboard`` on BENCH_DATABASE_URL, default
127.0.0.1:5432), fills it with BENCH_ROWS (1,000,000) results by ``COPY`` (tasks, queues,
statuses and 30 days of submit times mixed as a busy site has them), 100 workers'
heartbeats and 50 schedules, runs VACUUM ANALYZE, then requests each page REQUESTS (40)
times as a logged-in superuser through Django's test client, in process: the time of
``client.get`` is the server time (middleware, the services on the Flowrra loop, the
queries, the template). Prints p50/p95/max per page, writes JSON lines to RESULTS_FILE,
and drops the database.

    .venv/bin/python bench/bench_dashboard.py

Goal: every page p50 <= 100 ms, including a filtered and searched task list, the
overview, and page 1,000 of the list. "Page 1,000" is the page 999 clicks on "Older"
reach: its cursor names the 49,950th newest row, and a keyset page costs the same at any
depth. "search, no match" is the worst search: it reads its whole window (the newest
20,000 rows matching the filters) and finds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench_admin_changelist import QUEUES, STATUSES, log, server_command

T = TypeVar("T")
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
WORKERS = 100
DATABASE = "flowrra_bench_dashboard"
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/dashboard.jsonl"))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
TASKS = [f"bench_task_{n}" for n in range(10)]


def setup_django() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="django_bench_settings",
        BENCH_DB="postgres",
        BENCH_DB_NAME=DATABASE,
        BENCH_DATABASE_URL=SERVER,
    )
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import django

    django.setup()
    import flowrra_django

    for name in TASKS:  # registered, so retry and the schedule form know them

        async def run(*args: object, **kwargs: object) -> None:
            return None

        flowrra_django.task(name)(run)


def _rows(rng: random.Random, end: dt.datetime) -> object:
    span = 30 * 86400
    for i in range(ROWS):
        status = rng.choice(STATUSES)
        submitted = end - dt.timedelta(seconds=span * (1 - i / ROWS) + rng.random())
        finished = submitted + dt.timedelta(seconds=rng.random() * 2)
        failed = status == "failed"
        yield (
            f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
            rng.choice(TASKS),
            status,
            json.dumps([i, f"item-{i % 977}"]),
            json.dumps({"tenant": i % 13}),
            "null" if failed else json.dumps({"ok": True, "n": i % 100}),
            f"timeout talking to host-{i % 7}" if failed else "",
            "TimeoutError" if failed else "",
            "Traceback (most recent call last):\n  ...\nTimeoutError" if failed else "",
            rng.choice(QUEUES),
            rng.randrange(10),
            i % 3,
            f"bench-{i % WORKERS}:{1000 + i % WORKERS}:abc123",
            submitted,
            submitted,
            None if status in ("pending", "running") else finished,
            (finished - submitted).total_seconds(),
        )


def fill() -> None:
    from django.db import connection

    from flowrra_django.models import TaskResult, WorkerHeartbeat

    columns = (
        "task_id, task_name, status, args, kwargs, result, error, error_type, traceback, "
        "queue, priority, retries, worker, submitted_at, started_at, finished_at, runtime"
    )
    started = time.perf_counter()
    end = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        table = TaskResult._meta.db_table
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for n, row in enumerate(_rows(random.Random(7), end)):
                copy.write_row(row)
                if n and n % 200_000 == 0:
                    log(f"{n:,} rows ({time.perf_counter() - started:.0f} s)")
        cursor.execute(f"VACUUM ANALYZE {table}")
    now = dt.datetime.now(dt.UTC)
    WorkerHeartbeat.objects.bulk_create(
        WorkerHeartbeat(
            worker_id=f"bench-{n}:{1000 + n}:abc123",
            claimant=f"bench-{n}",
            info={
                "id": f"bench-{n}:{1000 + n}:abc123",
                "hostname": f"bench-{n}",
                "pid": 1000 + n,
                "started_at": time.time() - 3600,
                "last_heartbeat": time.time(),
                "queues": ["default", "emails"] if n % 2 else ["*"],
                "concurrency": {"io": 4, "cpu": 2},
                "prefetch": 64,
                "processed": 10_000 + n,
                "succeeded": 9_900 + n,
                "failed": 100,
                "retried": 3,
                "active": [f"{n:08x}-0000-4000-8000-000000000000"],
            },
            last_seen=now,
            expires_at=now + dt.timedelta(hours=2),
        )
        for n in range(WORKERS)
    )
    log(f"{ROWS:,} rows and {WORKERS} workers in {time.perf_counter() - started:.0f} s")


def add_schedules() -> None:
    from flowrra_django.models import ScheduledTask

    now = dt.datetime.now(dt.UTC)
    ScheduledTask.objects.bulk_create(
        ScheduledTask(
            name=f"schedule {n}",
            task_name=TASKS[n % len(TASKS)],
            schedule_type="cron",
            schedule=f"{n % 60} * * * *",
            next_run_at=now + dt.timedelta(minutes=n),
        )
        for n in range(50)
    )


def pages() -> dict[str, tuple[str, dict[str, str]]]:
    from django.urls import reverse

    from flowrra.backends.query import Cursor
    from flowrra_django.models import ScheduledTask, TaskResult

    tasks = reverse("flowrra:tasks")
    deep = TaskResult.objects.order_by("-submitted_at", "-id").values("submitted_at", "id")
    row = deep[min(999 * 50, ROWS - 51) - 1]
    cursor = Cursor(row["submitted_at"], str(row["id"])).encode()
    failed = TaskResult.objects.filter(status="failed").values_list("task_id", flat=True)[0]
    schedule = ScheduledTask.objects.values_list("pk", flat=True)[0]
    return {
        "overview": (reverse("flowrra:overview"), {}),
        "tasks": (tasks, {}),
        "tasks page 1,000": (tasks, {"after": cursor}),
        "tasks status+task": (tasks, {"status": "failed", "task": "bench_task_3"}),
        "tasks status+search": (tasks, {"status": "failed", "q": "host-3"}),
        "tasks queue+range": (tasks, {"queue": "emails", "range": "24h"}),
        "tasks worker": (tasks, {"worker": "bench-42:1042:abc123"}),
        "tasks search id": (tasks, {"q": failed}),
        "tasks search, no match": (tasks, {"q": "no-such-text"}),
        "task detail": (reverse("flowrra:task", args=[failed]), {}),
        "workers": (reverse("flowrra:workers"), {}),
        "worker detail": (reverse("flowrra:worker", args=["bench-42:1042:abc123"]), {}),
        "queues": (reverse("flowrra:queues"), {}),
        "schedules": (reverse("flowrra:schedules"), {}),
        "schedule edit": (reverse("flowrra:schedule", args=[schedule]), {}),
    }


def measure() -> list[dict[str, object]]:
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    return [time_requests(client, label, url, query) for label, (url, query) in pages().items()]


def time_requests(
    client: object, label: str, url: str, query: dict[str, str], requests: int = REQUESTS
) -> dict[str, object]:
    """GET ``url`` ``requests`` times (after 3 warm-up requests) with a test ``client``;
    p50, p95 and max server time in ms. Anything but a 200 stops the run."""
    times = []
    for attempt in range(requests + 3):
        started = time.perf_counter()
        response = client.get(url, query)  # type: ignore[attr-defined]
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{label}: HTTP {response.status_code}")
        if attempt >= 3:  # warm-up
            times.append(elapsed)
    times.sort()
    record = {
        "page": label,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(int(len(times) * 0.95) - 1, 0)], 1),
        "max_ms": round(times[-1], 1),
    }
    log(f"{label}: p50 {record['p50_ms']} ms")
    return record


def on_filled_database(run: Callable[[], T]) -> tuple[T, int]:
    """Create DATABASE, fill it (results, workers, schedules), return ``run()`` and the
    PostgreSQL major version; the database is dropped whatever happens."""
    server_command(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    server_command(f'CREATE DATABASE "{DATABASE}"')
    try:
        setup_django()
        from django.core.management import call_command
        from django.db import connection, connections

        from flowrra_django import runtime

        call_command("migrate", verbosity=0)
        fill()
        add_schedules()
        results = run()
        pg = connection.pg_version // 10000
        runtime.shutdown()
        connections.close_all()
    finally:
        server_command(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return results, pg


def main() -> None:
    from importlib.metadata import version

    results, pg = on_filled_database(measure)
    record = {
        "date": dt.date.today().isoformat(),
        "system": "flowrra",
        "variant": f"dashboard, {ROWS:,} results, {WORKERS} workers, PostgreSQL {pg}",
        "versions": {"flowrra": version("flowrra"), "django": version("django")},
        "python": platform.python_version(),
        "requests_per_page": REQUESTS,
        "pages": results,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_FILE.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"Dashboard, {ROWS:,} results, {WORKERS} workers, PostgreSQL {pg}, {REQUESTS} requests")
    print("\n| page | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for page in results:
        print(f"| {page['page']} | {page['p50_ms']} | {page['p95_ms']} | {page['max_ms']} |")
    print(f"\nJSON lines: {RESULTS_FILE}")


if __name__ == "__main__":
    main()
