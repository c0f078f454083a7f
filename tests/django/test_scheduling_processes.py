"""flowrra_beat as real processes: start and stop by signal, two beats at once, and
``flowrra_worker --beat``. Run on SQLite, and on PostgreSQL with FLOWRRA_TEST_DB=postgres."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import re
import signal
from collections.abc import Callable

import pytest

from flowrra_django.models import ScheduledTask, TaskResult
from tests.django.conftest import WorkerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "tests.django.testapp.tasks.add"

Start = Callable[..., WorkerProcess]
FIRED = re.compile(r"Schedule (\d+) due (\S+): submitted (\w+) as ")


def every_second(name: str, *args: int) -> ScheduledTask:
    return ScheduledTask.objects.create(
        name=name, task_name="add", schedule_type="interval", schedule="1", args=list(args)
    )


def runs(row: ScheduledTask) -> int:
    row.refresh_from_db()
    return row.total_run_count


def stop(process: WorkerProcess) -> tuple[str, str]:
    process.signal(signal.SIGTERM)
    assert process.wait(60) == 0
    return process.output()


def results_of_add(*args: int) -> int:
    """How many ``add`` results have these arguments (compared here: MariaDB's JSON
    equality compares a list's text, which its own formatting changes)."""
    rows = TaskResult.objects.filter(task_name=ADD).values_list("args", flat=True)
    return sum(1 for stored in rows if stored == list(args))


def test_a_beat_fires_a_schedule_added_while_it_runs_and_stops_on_sigterm(
    worker_process: Start,
) -> None:
    beat = worker_process("--interval", "0.2", command="flowrra_beat")
    row = every_second("added later", 1, 2)
    wait_until(lambda: runs(row) >= 2, timeout=60, what="the beat to fire twice")
    out, err = stop(beat)
    assert "Flowrra beat " in out and "schedules:   django://" in out
    assert "Received SIGTERM: stopping after the current pass" in err
    assert results_of_add(1, 2) == runs(row)


def test_two_beats_at_once_fire_each_occurrence_exactly_once(worker_process: Start) -> None:
    rows = [every_second(f"s{i}", i, i) for i in range(10)]
    beats = [worker_process("--interval", "0.2", command="flowrra_beat") for _ in range(2)]
    wait_until(
        lambda: all(runs(row) >= 6 for row in rows), timeout=90, what="six runs of each schedule"
    )
    logs = [stop(beat)[1] for beat in beats]

    fires = [
        (int(sid), dt.datetime.fromisoformat(due))
        for log in logs
        for sid, due, _ in FIRED.findall(log)
    ]
    duplicates = [fire for fire, count in collections.Counter(fires).items() if count > 1]
    assert duplicates == []
    for row in rows:
        dues = sorted(due for sid, due in fires if sid == row.pk)
        # every occurrence from the first to the last, one second apart: none twice, none lost
        assert [later - earlier for earlier, later in itertools.pairwise(dues)] == [
            dt.timedelta(seconds=1)
        ] * (len(dues) - 1)
        assert len(dues) == runs(row)
        assert results_of_add(row.args[0], row.args[0]) == len(dues)


def test_worker_with_beat_runs_scheduled_tasks_end_to_end(worker_process: Start) -> None:
    every_second("answer", 20, 22)
    worker = worker_process("--beat")
    wait_until(
        lambda: TaskResult.objects.filter(status="success", result=42).count() >= 2,
        timeout=60,
        what="two scheduled runs to succeed",
    )
    out, _ = stop(worker)
    assert "Flowrra worker " in out and "schedules:   django://" in out
