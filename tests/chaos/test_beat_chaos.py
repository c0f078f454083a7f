"""Beat chaos on ``django://`` (SQLite, and PostgreSQL with ``FLOWRRA_TEST_DB=postgres``):
two beats, one SIGKILLed and restarted every 3-4 s, on PostgreSQL every session of the test
database ended every few seconds. Every occurrence of every schedule is fired exactly once
or named in a log line of the missed policy; none is fired twice, none passes silently."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from flowrra_django import runtime
from flowrra_django.models import ScheduledTask, TaskResult

from .conftest import FIGURES, Process, python
from .test_django_chaos import end_sessions

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = 20.0
PASSED = re.compile(r"Schedule (\d+) \([\w.]*add\): (\d+) later occurrence\(s\) passed")
SKIPPED = re.compile(r"Schedule (\d+) \([\w.]*add\).*(?:was due at|was not submitted).*skipped")


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    runtime.shutdown()
    connections.close_all()


def test_every_occurrence_fires_once_or_is_logged(tmp_path: Path, processes: list[Process]) -> None:
    vendor = connections["default"].vendor
    first = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=3)
    rows = [
        ScheduledTask.objects.create(
            name=f"tick {i}",
            task_name="add",
            schedule_type="interval",
            schedule="1",
            args=[i, i],
            next_run_at=first,
        )
        for i in range(3)
    ]
    env = {"DJANGO_SETTINGS_MODULE": "tests.django.settings", "FLOWRRA_TEST_SUBPROCESS": "1"}
    command = python("-m", "django", "flowrra_beat", "--interval", "0.2", "--loglevel", "INFO")

    def start_beat() -> Process:
        beat = Process(command, env, tmp_path / f"beat-{len(processes)}.log")
        processes.append(beat)
        return beat

    live = [start_beat(), start_beat()]
    rng = random.Random(3)
    kills = ended = 0
    end = time.monotonic() + SECONDS
    next_kill = time.monotonic() + rng.uniform(3, 4)
    while time.monotonic() < end:
        time.sleep(0.5)
        if vendor == "postgresql" and rng.random() < 0.3:
            ended += end_sessions()
        if time.monotonic() >= next_kill:
            victim = live.pop(rng.randrange(len(live)))
            victim.kill()
            kills += 1
            live.append(start_beat())
            next_kill = time.monotonic() + rng.uniform(3, 4)
    for beat in processes:
        beat.stop()
    connections["default"].close()

    logs = "".join(beat.output() for beat in processes)
    passed: dict[int, int] = {}
    for schedule, count in PASSED.findall(logs):
        passed[int(schedule)] = passed.get(int(schedule), 0) + int(count)
    skipped = {int(schedule) for schedule in SKIPPED.findall(logs)}
    report = []
    for row in rows:
        row.refresh_from_db()
        assert row.next_run_at is not None
        due = int((row.next_run_at - first).total_seconds())
        fired = TaskResult.objects.filter(args=row.args).count()  # each schedule's own args
        report.append((row.pk, due, fired, passed.get(row.pk, 0)))
        assert row.pk not in skipped, logs
        assert fired + passed.get(row.pk, 0) == due, (report, logs[-4000:])
    FIGURES.append(
        f"beat chaos on {vendor} ({kills} beats killed, {ended} sessions ended): "
        + "; ".join(
            f"schedule {pk}: {due} occurrences, {fired} fired, {logged} logged as covered"
            for pk, due, fired, logged in report
        )
    )
