"""Remote-control round trip: a ``ping`` sent through the broker to a worker process and
its reply back, on the django:// broker (PostgreSQL) and on Redis.

Starts ``manage.py flowrra_worker`` on a database of its own (``flowrra_bench_control``
on BENCH_DATABASE_URL) with the default django:// broker, then with a Redis broker
(BENCH_REDIS_URL, default db 12 on 127.0.0.1, under a key prefix of its own, deleted
after), and times PINGS (50) round trips from this process through
``flowrra.control.send_command`` (after 3 warm-up pings). Prints p50/p95/max; each
worker is shut down by a ``shutdown`` command (killed by PID if it does not exit).

    .venv/bin/python bench/bench_control.py

Goal: round trip p50 <= 500 ms on both. The django:// worker looks at its mailbox every
0.2 s and the sender for the reply every 0.02 s (flowrra_django.control), so its
round trip is mostly that polling; Redis blocks on both lists.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time

import bench_dashboard as dashboard
from bench_admin_changelist import log, server_command

DATABASE = "flowrra_bench_control"
PINGS = int(os.environ.get("BENCH_PINGS", "50"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def start_worker(broker: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "django", "flowrra_worker", "--loglevel", "WARNING"]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(dashboard.ROOT), str(dashboard.BENCH)]),
    }
    return subprocess.Popen(
        [*command, *(["--broker", broker] if broker else [])],
        cwd=dashboard.ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def online_worker() -> str:
    from flowrra_django import dashboard as services

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        online = [w.id for w in services.call(lambda s: s.ui.workers()) if w.online]
        if online:
            return online[0]
        time.sleep(0.2)
    raise RuntimeError("no worker came online within 60 s")


def round_trips(worker_id: str) -> dict[str, float]:
    from flowrra.control import send_command
    from flowrra_django import runtime

    def ping() -> float:
        started = time.perf_counter()
        reply = runtime.run_sync(
            lambda: send_command(runtime.get_app().broker_required, worker_id, "ping")
        )
        if reply is None or reply["message"] != "pong":
            raise RuntimeError(f"no pong from {worker_id}: {reply}")
        return (time.perf_counter() - started) * 1000

    for _ in range(3):
        ping()
    times = sorted(ping() for _ in range(PINGS))
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(int(len(times) * 0.95) - 1, 0)], 1),
        "max_ms": round(times[-1], 1),
    }


def measure(label: str, broker: str | None) -> dict[str, object]:
    from django.test import override_settings

    from flowrra.control import send_command
    from flowrra_django import runtime

    runtime.shutdown()
    settings = override_settings(FLOWRRA={"BROKER_URL": broker} if broker else {})
    settings.enable()
    process = start_worker(broker)
    try:
        worker_id = online_worker()
        record: dict[str, object] = {"broker": label, **round_trips(worker_id)}
        runtime.run_sync(
            lambda: send_command(runtime.get_app().broker_required, worker_id, "shutdown")
        )
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        runtime.shutdown()
        settings.disable()
    log(f"{label}: p50 {record['p50_ms']} ms")
    return record


def main() -> None:
    import redis

    dashboard.DATABASE = DATABASE
    server_command(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    server_command(f'CREATE DATABASE "{DATABASE}"')
    prefix = f"benchctl{secrets.token_hex(4)}"
    client = redis.Redis.from_url(REDIS)
    try:
        dashboard.setup_django()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        results = [
            measure("django:// (PostgreSQL)", None),
            measure("redis://", f"{REDIS}?key_prefix={prefix}"),
        ]
        connections.close_all()
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        server_command(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    print(f"Remote-control round trip (ping -> pong), {PINGS} pings")
    print("\n| broker | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for row in results:
        print(f"| {row['broker']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")


if __name__ == "__main__":
    main()
