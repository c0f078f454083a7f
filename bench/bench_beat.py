"""Beat with 10,000 enabled schedules on SQLite: CPU per pass, RSS, fire lateness.

Ours: the ``flowrra_beat`` code path (``start_beat`` on the project app, ``django://``
schedules, broker and results in one SQLite file, Flowrra's and Django's default settings),
in a process of its own. The peer, measured right after in the same run: the scheduler of
Flowrra 0.1.8 (the original, from PyPI; ``../shared/bench``'s virtualenv) on its own
SQLite store, with the same schedules. No worker runs: submitted tasks stay queued.

Schedules (seeded): half cron, half interval. Cron: 1,000 every minute, 1,000 every five
minutes, 1,500 hourly at a random minute, 1,500 daily at a random time. Interval: 5,000
with a period drawn from 30 s to 10 min and a random first run within one period. So each
minute boundary brings a burst of 1,000-2,000 fires, and 10-170 interval fires per second
fall in between.

Lateness = the moment a fire was submitted minus its due time, for every fire after the
first ``BENCH_WARMUP`` seconds. CPU per pass: the process's CPU time (all threads) during
each pass that fired something, and over the whole run per second.

Then two schedulers for availability outside Django: two processes, each an app with
``app.create_scheduler(backend="postgresql://...")`` on the same core PostgreSQL store (the
same 10,000 schedules), submitting to an in-memory broker that nothing consumes. Every fire
of both is logged (schedule, due time): the table shows the lateness over both and how many
occurrences fired twice (the goal: none). The store lives in a database of its own,
``flowrra_bench_beat``, dropped at the end.

    .venv/bin/python bench/bench_beat.py            # ours, the peer, two on PostgreSQL
    BENCH_SECONDS=60 .venv/bin/python bench/bench_beat.py --no-peer --no-postgres
    .venv/bin/python bench/bench_beat.py --only-postgres

Knobs (environment): BENCH_SCHEDULES (10000), BENCH_SECONDS (120), BENCH_WARMUP (5),
PEERS_VENV (/tmp/peers-venv), RESULTS_FILE (/tmp/flowrra-bench/beat.jsonl),
BENCH_DATABASE_URL (PostgreSQL server, default postgres://root@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCHEDULES = int(os.environ.get("BENCH_SCHEDULES", "10000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "120"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv"))
RESULTS_FILE = Path(os.environ.get("RESULTS_FILE", "/tmp/flowrra-bench/beat.jsonl"))
UTC = dt.UTC


def mix(count: int, now: dt.datetime) -> list[tuple[str, str, dt.datetime | None]]:
    """(kind, schedule, first due or None for cron) for ``count`` schedules, seeded."""
    rng = random.Random(42)
    half, out = count // 2, []
    for index in range(half):
        share = index / half
        if share < 0.2:
            cron = "* * * * *"
        elif share < 0.4:
            cron = "*/5 * * * *"
        elif share < 0.7:
            cron = f"{rng.randrange(60)} * * * *"
        else:
            cron = f"{rng.randrange(60)} {rng.randrange(24)} * * *"
        out.append(("cron", cron, None))
    for _ in range(count - half):
        period = rng.randrange(30, 601)
        out.append(("interval", str(period), now + dt.timedelta(seconds=rng.uniform(1, period))))
    return out


def rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process, KiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def time_passes(scheduler: Any) -> list[float]:
    """The CPU seconds of each pass of ``scheduler`` that fires something, as they come."""
    passes: list[float] = []
    run_pending = scheduler.run_pending

    async def measured() -> list[str]:
        before = cpu_seconds()
        fired: list[str] = await run_pending()
        if fired:
            passes.append(cpu_seconds() - before)
        return fired

    scheduler.run_pending = measured
    return passes


def report(name: str, lateness: list[float], passes: list[float], cpu: float) -> dict[str, Any]:
    current, peak = rss_kib()
    return {
        "system": name,
        "schedules": SCHEDULES,
        "seconds": SECONDS,
        "fires": len(lateness),
        "lateness_p50_s": round(percentile(lateness, 0.5), 4),
        "lateness_p99_s": round(percentile(lateness, 0.99), 4),
        "lateness_max_s": round(max(lateness, default=0.0), 4),
        "passes_firing": len(passes),
        "cpu_ms_per_pass_mean": round(1000 * statistics.fmean(passes), 2) if passes else None,
        "cpu_ms_per_pass_p99": round(1000 * percentile(passes, 0.99), 2),
        "cpu_share_of_one_core": round(cpu / SECONDS, 3),
        "rss_mib": round(current / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
    }


# -- ours ---------------------------------------------------------------------------------


def run_ours() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from flowrra.scheduler import ScheduledTask as Schedule
    from flowrra.scheduler import ScheduleType
    from flowrra_django.models import ScheduledTask

    call_command("migrate", verbosity=0)
    now = dt.datetime.now(UTC)
    rows = []
    for number, (kind, schedule, due) in enumerate(mix(SCHEDULES, now)):
        core = Schedule(str(number), "add", ScheduleType(kind), schedule)
        rows.append(
            ScheduledTask(
                name=f"bench {number}",
                task_name="add",
                schedule_type=kind,
                schedule=schedule,
                args=[number, 1],
                next_run_at=due or core.first_run(now),
            )
        )
    ScheduledTask.objects.bulk_create(rows, batch_size=500)
    return asyncio.run(_beat_ours())


async def _beat_ours() -> dict[str, Any]:
    from flowrra.scheduler import SCHEDULE_FIRED
    from flowrra_django import runtime
    from flowrra_django.conf import get_config
    from flowrra_django.schedule_store import start_beat

    app = runtime.get_app()
    app.config = get_config()
    await app.start(worker=False)
    runtime.bind(asyncio.get_running_loop())
    started = time.monotonic()
    lateness: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == SCHEDULE_FIRED and time.monotonic() - started > WARMUP:
            due = dt.datetime.fromisoformat(event["due"])
            lateness.append((dt.datetime.fromisoformat(event["at"]) - due).total_seconds())

    app.events.subscribe(on_event)
    beat = await start_beat(app)
    passes = time_passes(beat)
    cpu_start = cpu_seconds()
    await asyncio.sleep(SECONDS)
    cpu = cpu_seconds() - cpu_start
    await beat.stop()
    await app.stop()
    return report("flowrra beat (django://, SQLite)", lateness, passes, cpu)


# -- the peer: Flowrra 0.1.8's scheduler ----------------------------------------------------


def run_peer(path: str) -> dict[str, Any]:
    import sqlite3

    from flowrra import Flowrra
    from flowrra.scheduler.backends.sqlite import SQLiteSchedulerBackend

    app = Flowrra.from_urls()

    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    scheduler = app.create_scheduler(backend=SQLiteSchedulerBackend(path))
    return asyncio.run(_beat_peer(app, scheduler, path, sqlite3))


async def _beat_peer(app: Any, scheduler: Any, path: str, sqlite3: Any) -> dict[str, Any]:
    from flowrra.scheduler.cron import CronExpression

    await scheduler.backend._ensure_connected()  # creates its tables
    now = dt.datetime.now()  # 0.1.8 keeps naive local times (UTC on the bench machine)
    db = sqlite3.connect(path)
    values = []
    for number, (kind, schedule, due) in enumerate(mix(SCHEDULES, now)):
        first = due or CronExpression(schedule).next_run(now)
        args, stamp = f"[{number}, 1]", now.isoformat()
        values.append(
            (str(number), "add", kind, schedule, args, "{}", first.isoformat(), stamp, stamp)
        )
    db.executemany(
        "INSERT INTO scheduled_tasks (id, task_name, schedule_type, schedule, args, kwargs,"
        " enabled, next_run_at, created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?,?)",
        values,
    )
    db.commit()
    db.close()

    started = time.monotonic()
    lateness: list[float] = []
    passes: list[float] = []
    execute = scheduler._execute_scheduled_task
    check = scheduler._check_and_execute_due_tasks

    async def timed_execute(task: Any, at: dt.datetime) -> None:
        due = task.next_run_at
        await execute(task, at)
        if time.monotonic() - started > WARMUP:
            lateness.append((dt.datetime.now() - due).total_seconds())

    async def timed_check() -> None:
        before, count = cpu_seconds(), len(lateness)
        await check()
        if len(lateness) > count:
            passes.append(cpu_seconds() - before)

    scheduler._execute_scheduled_task = timed_execute
    scheduler._check_and_execute_due_tasks = timed_check
    await app.start()
    cpu_start = cpu_seconds()
    await asyncio.sleep(SECONDS)
    cpu = cpu_seconds() - cpu_start
    await app.stop()
    return report("flowrra 0.1.8 scheduler (aiosqlite)", lateness, passes, cpu)


# -- two schedulers on the core PostgreSQL store ------------------------------------------------

PG_DATABASE = "flowrra_bench_beat"


def postgres_admin(statement: str) -> None:
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def store_url() -> str:
    from urllib.parse import urlsplit

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    return urlsplit(url)._replace(scheme="postgresql", path=f"/{PG_DATABASE}").geturl()


async def seed_store(url: str) -> None:
    from flowrra.scheduler import ScheduledTask as Schedule
    from flowrra.scheduler import ScheduleType
    from flowrra.scheduler.backends import create_store

    store = create_store(url)
    now = dt.datetime.now(UTC)
    for number, (kind, schedule, due) in enumerate(mix(SCHEDULES, now)):
        task = Schedule(f"s{number:05d}", "add", ScheduleType(kind), schedule, args=(number, 1))
        task.next_run_at = due or task.first_run(now)
        await store.create(task)
    await store.close()


def run_core_scheduler(url: str) -> dict[str, Any]:
    return asyncio.run(_core_scheduler(url))


async def _core_scheduler(url: str) -> dict[str, Any]:
    from flowrra import Config, ExecutorConfig, Flowrra
    from flowrra.scheduler import SCHEDULE_FIRED

    app = Flowrra(Config(executor=ExecutorConfig(max_queue_size=0)))

    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    scheduler = app.create_scheduler(backend=url, check_interval=1.0)
    started = time.monotonic()
    lateness: list[float] = []
    fires: list[tuple[str, str]] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == SCHEDULE_FIRED:
            fires.append((event["schedule"], event["due"]))
            if time.monotonic() - started > WARMUP:
                due = dt.datetime.fromisoformat(event["due"])
                lateness.append((dt.datetime.fromisoformat(event["at"]) - due).total_seconds())

    app.events.subscribe(on_event)
    passes = time_passes(scheduler)
    await app.start(worker=False)
    cpu_start = cpu_seconds()
    await asyncio.sleep(SECONDS)
    cpu = cpu_seconds() - cpu_start
    await app.stop(wait=False)
    return {**report("scheduler", lateness, passes, cpu), "lateness": lateness, "log": fires}


def two_on_postgres() -> dict[str, Any]:
    postgres_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"')
    postgres_admin(f'CREATE DATABASE "{PG_DATABASE}"')
    try:
        url = store_url()
        asyncio.run(seed_store(url))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, __file__, "--core-scheduler", url]
        runs = [
            subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=SECONDS * 3 + 600)[0] for run in runs]
        if any(run.returncode for run in runs):
            raise SystemExit("a scheduler process failed")
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    one, two = (json.loads(out.strip().splitlines()[-1]) for out in outputs)
    fired = [tuple(fire) for fire in one["log"] + two["log"]]
    counts: dict[tuple[str, ...], int] = {}
    for fire in fired:
        counts[fire] = counts.get(fire, 0) + 1
    lateness = one["lateness"] + two["lateness"]
    result = report("2 x core scheduler (postgresql://)", lateness, [], 0.0)
    result.update(
        {
            "fires_per_scheduler": [len(one["log"]), len(two["log"])],
            "fired_twice": sum(1 for n in counts.values() if n > 1),
            "cpu_ms_per_pass_mean": max(
                one["cpu_ms_per_pass_mean"] or 0, two["cpu_ms_per_pass_mean"] or 0
            ),
            "cpu_ms_per_pass_p99": max(one["cpu_ms_per_pass_p99"], two["cpu_ms_per_pass_p99"]),
            "cpu_share_of_one_core": round(
                one["cpu_share_of_one_core"] + two["cpu_share_of_one_core"], 3
            ),
            "rss_mib": max(one["rss_mib"], two["rss_mib"]),
            "rss_peak_mib": max(one["rss_peak_mib"], two["rss_peak_mib"]),
        }
    )
    return result


# -- the harness ------------------------------------------------------------------------------


def sqlite_beats() -> list[dict[str, Any]]:
    """Ours (django://, SQLite), then the peer (0.1.8), each in a process of its own."""
    results = []
    with tempfile.TemporaryDirectory(prefix="flowrra-bench-beat-") as scratch:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "django_bench_settings",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}",
            "BENCH_DB": "sqlite",
            "BENCH_DB_NAME": str(Path(scratch) / "ours.sqlite3"),
        }
        results.append(child([sys.executable, __file__, "--ours"], env))
        peer_python = PEERS_VENV / "flowrra" / "bin" / "python"
        if "--no-peer" not in sys.argv and peer_python.exists():
            peer_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            peer = [str(peer_python), __file__, "--peer", str(Path(scratch) / "peer.sqlite3")]
            results.append(child(peer, peer_env))
        elif "--no-peer" not in sys.argv:
            print(f"peer skipped: {peer_python} is missing (../shared/bench/setup_venvs.sh)")
    return results


def child(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS * 3 + 600
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[1:]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    results = []
    if "--only-postgres" not in sys.argv:
        results += sqlite_beats()
    if "--no-postgres" not in sys.argv:
        results.append(two_on_postgres())
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_FILE.open("a") as out:
        for result in results:
            out.write(json.dumps({**result, "measured_at": time.strftime("%F %T")}) + "\n")
    columns = [
        ("system", "system"),
        ("fires", "fires"),
        ("lateness_p50_s", "late p50 s"),
        ("lateness_p99_s", "late p99 s"),
        ("lateness_max_s", "late max s"),
        ("cpu_ms_per_pass_mean", "CPU ms/pass"),
        ("cpu_ms_per_pass_p99", "p99"),
        ("cpu_share_of_one_core", "CPU/s"),
        ("rss_mib", "RSS MiB"),
        ("rss_peak_mib", "peak"),
    ]
    print(f"Beat, {SCHEDULES} enabled schedules, {SECONDS:g} s (goals: p99 <= 1 s, RSS <= 100 MB)")
    print("| " + " | ".join(title for _, title in columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        print("| " + " | ".join(str(result[key]) for key, _ in columns) + " |")
    for result in results:
        if "fired_twice" in result:
            print(
                f"\n{result['system']}: fires per scheduler {result['fires_per_scheduler']}, "
                f"occurrences fired twice: {result['fired_twice']}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ours"]:
        print(json.dumps(run_ours()))
    elif sys.argv[1:2] == ["--peer"]:
        print(json.dumps(run_peer(sys.argv[2])))
    elif sys.argv[1:2] == ["--core-scheduler"]:
        print(json.dumps(run_core_scheduler(sys.argv[2])))
    else:
        main()
