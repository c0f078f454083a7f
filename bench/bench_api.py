"""JSON API and /metrics server time with 1,000,000 results and 100 workers on PostgreSQL.

Fills a database of its own (``flowrra_bench_api`` on BENCH_DATABASE_URL) with
bench_dashboard's data (BENCH_ROWS results over 30 days, 100 workers' heartbeats, 50
schedules), then requests each API endpoint, ``/flowrra/metrics`` and
``/flowrra/health`` REQUESTS (40) times with a bearer token through Django's test client,
in process (bench_dashboard's timing). The rows of 30 days put ~120 results in the
metrics window (5 minutes); a second scrape series runs after a burst of BURST (50,000)
more results submitted within the window, the most a scrape then has to count.
Prints p50/p95/max, writes JSON lines to RESULTS_FILE, drops the database.

    .venv/bin/python bench/bench_api.py

Goal: the API list p50 <= 100 ms and a /metrics scrape p50 <= 100 ms at 1,000,000 rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

import bench_dashboard as dashboard
from bench_admin_changelist import log

DATABASE = "flowrra_bench_api"
BURST = int(os.environ.get("BENCH_BURST", "50000"))
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/api.jsonl"))
TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"


def targets() -> dict[str, tuple[str, dict[str, str]]]:
    from django.urls import reverse

    from flowrra.backends.query import Cursor
    from flowrra_django.models import TaskResult

    tasks = reverse("flowrra:api-tasks")
    deep = TaskResult.objects.order_by("-submitted_at", "-id").values("submitted_at", "id")
    row = deep[min(999 * 50, dashboard.ROWS - 51) - 1]
    cursor = Cursor(row["submitted_at"], str(row["id"])).encode()
    failed = TaskResult.objects.filter(status="failed").values_list("task_id", flat=True)[0]
    return {
        "api tasks": (tasks, {}),
        "api tasks page 1,000": (tasks, {"after": cursor}),
        "api tasks status+task": (tasks, {"status": "failed", "task": "bench_task_3"}),
        "api tasks search, no match": (tasks, {"q": "no-such-text"}),
        "api task detail": (reverse("flowrra:api-task", args=[failed]), {}),
        "api stats": (reverse("flowrra:api-stats"), {}),
        "api workers": (reverse("flowrra:api-workers"), {}),
        "api queues": (reverse("flowrra:api-queues"), {}),
        "api schedules": (reverse("flowrra:api-schedules"), {}),
        "metrics": (reverse("flowrra:metrics"), {}),
        "health": (reverse("flowrra:health"), {}),
    }


def burst() -> None:
    """BURST copies of old rows, submitted (and finished) within the metrics window."""
    from django.db import connection

    from flowrra_django.models import TaskResult

    table = TaskResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (task_id, task_name, status, args, kwargs, result, error,
                error_type, traceback, queue, priority, retries, worker, submitted_at,
                started_at, finished_at, runtime)
            SELECT task_id || '-burst', task_name, status, args, kwargs, result, error,
                error_type, traceback, queue, priority, retries, worker, stamp, stamp,
                CASE WHEN finished_at IS NULL THEN NULL ELSE stamp + interval '1 second' END,
                runtime
            FROM (SELECT *, now() - random() * interval '280 seconds' AS stamp
                  FROM {table} ORDER BY id LIMIT %s) AS old
            """,
            [BURST],
        )
        cursor.execute(f"ANALYZE {table}")
    log(f"{BURST:,} results added within the metrics window")


def measure() -> list[dict[str, object]]:
    from django.contrib.auth.models import User
    from django.test import Client, override_settings
    from django.urls import reverse

    from flowrra_django.models import BeatPass

    User.objects.create_superuser("bench", "bench@example.com", "bench")
    BeatPass.objects.create(beat="bench", last_pass_at=dt.datetime.now(dt.UTC))  # beat is up
    override_settings(FLOWRRA={"API_TOKENS": {TOKEN: "bench"}}).enable()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    records = [
        dashboard.time_requests(client, label, url, query)
        for label, (url, query) in targets().items()
    ]
    burst()
    label = f"metrics, {BURST:,} results in the window"
    records.append(dashboard.time_requests(client, label, reverse("flowrra:metrics"), {}))
    return records


def main() -> None:
    from importlib.metadata import version

    dashboard.DATABASE = DATABASE  # bench_dashboard's set-up, on a database of this bench's
    results, pg = dashboard.on_filled_database(measure)
    record = {
        "date": dt.date.today().isoformat(),
        "system": "flowrra",
        "variant": f"API and metrics, {dashboard.ROWS:,} results, PostgreSQL {pg}",
        "versions": {"flowrra": version("flowrra"), "django": version("django")},
        "python": platform.python_version(),
        "requests_per_endpoint": dashboard.REQUESTS,
        "endpoints": results,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_FILE.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(f"API and metrics, {dashboard.ROWS:,} results, PostgreSQL {pg}")
    print("\n| endpoint | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for row in results:
        print(f"| {row['page']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    print(f"\nJSON lines: {RESULTS_FILE}")


if __name__ == "__main__":
    main()
