"""Admin TaskResult changelist server time with 1,000,000 results on PostgreSQL.

Creates a database of its own (``flowrra_bench_admin`` on BENCH_DATABASE_URL, default
127.0.0.1:5432), fills it with BENCH_ROWS (1,000,000) results through ``bulk_create``
(statuses, tasks, queues and 30 days of submit times mixed as a busy site would have
them), runs VACUUM ANALYZE, then requests each admin page REQUESTS (30) times as a logged-in
superuser through Django's test client, in process: the time of ``client.get`` is the
server time (middleware, queries, template). Prints p50/p90/max per page and the plan of
the default page's query, writes JSON lines to RESULTS_FILE, and drops the database.

    .venv/bin/python bench/bench_admin_changelist.py

Goal: p50 <= 150 ms for the changelist.
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
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
DATABASE = "flowrra_bench_admin"
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/admin_changelist.jsonl"))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")

TASKS = [
    "send_receipt",
    "resize_image",
    "sync_inventory",
    "charge_payment",
    "render_report",
    "import_rows",
    "send_welcome_email",
    "check_url",
    "count_primes",
    "notify_slack",
]
QUEUES = ["default", "default", "default", "emails", "reports"]
STATUSES = ["success"] * 90 + ["failed"] * 5 + ["pending"] * 2 + ["running", "retrying", "revoked"]


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def server_command(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER, autocommit=True) as connection:
        connection.execute(sql)


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


def fill() -> None:
    from django.db import connection

    from flowrra_django.models import TaskResult

    rng = random.Random(7)
    end = dt.datetime.now(dt.UTC)
    span = 30 * 86400
    batch = 10_000
    started = time.perf_counter()
    for first in range(0, ROWS, batch):
        rows = []
        for i in range(first, min(first + batch, ROWS)):
            status = rng.choice(STATUSES)
            submitted = end - dt.timedelta(seconds=span * (1 - i / ROWS) + rng.random())
            finished = submitted + dt.timedelta(seconds=rng.random() * 2)
            failed = status == "failed"
            rows.append(
                TaskResult(
                    task_id=f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
                    task_name=rng.choice(TASKS),
                    status=status,
                    args=[i, f"item-{i % 977}"],
                    kwargs={"tenant": i % 13},
                    result=None if failed else {"ok": True, "n": i % 100},
                    error=f"timeout talking to host-{i % 7}" if failed else "",
                    error_type="TimeoutError" if failed else "",
                    traceback="Traceback (most recent call last):\n  ...\nTimeoutError"
                    if failed
                    else "",
                    queue=rng.choice(QUEUES),
                    priority=rng.randrange(10),
                    worker=f"web-{i % 4}:{1000 + i % 50}:abc123",
                    submitted_at=submitted,
                    started_at=submitted,
                    finished_at=None if status in ("pending", "running") else finished,
                    runtime=(finished - submitted).total_seconds(),
                )
            )
        TaskResult.objects.bulk_create(rows, batch_size=2000)
        if (first // batch) % 10 == 0:
            log(f"{first + len(rows):,} rows ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        # the steady state autovacuum gives a real table: statistics and visibility map
        cursor.execute(f"VACUUM ANALYZE {TaskResult._meta.db_table}")
    log(f"{ROWS:,} rows in {time.perf_counter() - started:.0f} s")


def measure() -> list[dict[str, object]]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from flowrra_django.models import TaskResult

    user = User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:flowrra_django_taskresult_changelist")
    sample = TaskResult.objects.filter(status="failed").only("pk", "task_id").first()
    assert sample is not None
    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=7)).replace(microsecond=0)
    pages = {
        "changelist": (changelist, {}),
        "status=failed": (changelist, {"status__exact": "failed"}),
        "task=render_report": (changelist, {"task_name": "render_report"}),
        "queue=emails": (changelist, {"queue": "emails"}),
        "last 7 days": (changelist, {"submitted_at__gte": str(week_ago)}),
        "page 100": (changelist, {"p": "100"}),
        "search exact id": (changelist, {"q": sample.task_id}),
        "detail": (reverse("admin:flowrra_django_taskresult_change", args=[sample.pk]), {}),
    }
    records = []
    for label, (url, query) in pages.items():
        times = []
        for attempt in range(REQUESTS + 3):
            started = time.perf_counter()
            response = client.get(url, query)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{label}: HTTP {response.status_code}")
            if attempt >= 3:  # warm-up
                times.append(elapsed)
        times.sort()
        records.append(
            {
                "page": label,
                "p50_ms": round(statistics.median(times), 1),
                "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
                "max_ms": round(times[-1], 1),
            }
        )
        log(f"{label}: p50 {records[-1]['p50_ms']} ms")
    return records


def default_plan() -> str:
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from flowrra_django.models import TaskResult

    model_admin = site._registry[TaskResult]
    request = RequestFactory().get("/")
    ordering = model_admin.get_ordering(request)
    query = TaskResult.objects.order_by(*ordering, "-pk")[:50]
    return query.explain()


def main() -> None:
    from importlib.metadata import version

    server_command(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    server_command(f'CREATE DATABASE "{DATABASE}"')
    try:
        setup_django()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        fill()
        pages = measure()
        plan = default_plan()
        pg = connection.pg_version // 10000
        connections.close_all()
    finally:
        server_command(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    record = {
        "date": dt.date.today().isoformat(),
        "system": "flowrra",
        "variant": f"admin TaskResult changelist, {ROWS:,} rows, PostgreSQL {pg}",
        "versions": {"flowrra": version("flowrra"), "django": version("django")},
        "python": platform.python_version(),
        "requests_per_page": REQUESTS,
        "pages": pages,
        "default_plan": plan,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_FILE.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"Admin changelist, {ROWS:,} TaskResult rows, PostgreSQL {pg}, {REQUESTS} requests each")
    print("\n| page | p50 ms | p90 ms | max ms |\n|---|---|---|---|")
    for page in pages:
        print(f"| {page['page']} | {page['p50_ms']} | {page['p90_ms']} | {page['max_ms']} |")
    print(f"\nPlan of the default page's query:\n{plan}\n\nJSON lines: {RESULTS_FILE}")


if __name__ == "__main__":
    main()
