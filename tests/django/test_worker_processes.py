"""Worker processes for real: signals, two workers at once, a killed worker, the CPU pool."""

from __future__ import annotations

import collections
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

import flowrra_django
from flowrra_django.models import QueuedMessage, TaskResult, WorkerHeartbeat
from tests.django.conftest import ROOT, WorkerProcess
from tests.django.testapp import tasks
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

StartWorker = Callable[..., WorkerProcess]


def status_of(task_id: str) -> str:
    return TaskResult.objects.get(task_id=task_id).status


def test_sigterm_lets_the_running_task_finish_and_exits_0(worker_process: StartWorker) -> None:
    task_id = flowrra_django.submit(tasks.sleep_then, 1.5, "finished")
    worker = worker_process()
    wait_until(lambda: status_of(task_id) == "running", what="the task to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    out, err = worker.output()
    assert TaskResult.objects.get(task_id=task_id).result == "finished"
    assert "Received SIGTERM: finishing running tasks" in err
    assert "Flowrra worker " in out
    assert not QueuedMessage.objects.exists()


def test_two_workers_at_once_run_each_task_exactly_once(
    worker_process: StartWorker, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ids = [flowrra_django.submit(tasks.record, str(log), f"t{i}") for i in range(200)]
    workers = [worker_process("--burst", "--prefetch", "8") for _ in range(2)]
    assert [worker.wait(120) for worker in workers] == [0, 0]
    runs = collections.Counter(line.split()[0] for line in log.read_text().splitlines())
    assert sorted(runs) == sorted(f"t{i}" for i in range(200))
    assert set(runs.values()) == {1}
    assert TaskResult.objects.filter(task_id__in=ids, status="success").count() == 200


def test_the_task_of_a_killed_worker_is_run_by_another(
    worker_process: StartWorker, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    task_id = flowrra_django.submit(tasks.hang_once, str(marker))
    doomed = worker_process()
    wait_until(lambda: status_of(task_id) == "running", what="the first worker to start it")
    doomed.kill()
    assert marker.exists()
    rescuer = worker_process("--max-tasks", "1")
    assert rescuer.wait(120) == 0
    _, err = rescuer.output()
    done = TaskResult.objects.get(task_id=task_id)
    assert (done.status, done.result) == ("success", "recovered")
    assert "back to the queue" in err and "delivered again (delivery 2)" in err
    assert not QueuedMessage.objects.exists()


def test_a_task_revoked_in_a_workers_buffer_is_skipped(worker_process: StartWorker) -> None:
    first = flowrra_django.submit(tasks.sleep_then, 2, "first")
    second = flowrra_django.submit(tasks.add, 1, 1)
    worker = worker_process("--io-workers", "1")
    wait_until(lambda: status_of(first) == "running", what="the first task to start")
    assert QueuedMessage.objects.get(task_id=second).claimed_by  # buffered by the worker
    assert flowrra_django.revoke(second) is True
    wait_until(lambda: not QueuedMessage.objects.exists(), what="the worker to skip it")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert status_of(first) == "success"
    assert status_of(second) == "revoked"


def test_cpu_tasks_and_the_async_orm_work_in_the_worker(worker_process: StartWorker) -> None:
    cpu = flowrra_django.submit(tasks.cpu_count_results)
    orm = flowrra_django.submit(tasks.count_results)
    assert worker_process("--burst").wait(120) == 0
    assert TaskResult.objects.get(task_id=cpu).result == 2
    assert TaskResult.objects.get(task_id=orm).result == 2


def test_reload_restarts_the_worker_when_code_changes_and_stops_it_cleanly_first(
    worker_process: StartWorker, tmp_path: Path
) -> None:
    probe = tmp_path / "flowrra_reload_probe.py"
    probe.write_text("VALUE = 1\n")
    worker = worker_process(
        "--reload",
        env={"FLOWRRA_TEST_IMPORT": probe.stem, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
    )

    def started() -> list[str]:
        return re.findall(r"^Flowrra worker (\S+)", worker.output()[0], re.MULTILINE)

    wait_until(lambda: len(started()) == 1, what="the worker to start")
    first = started()[0]
    wait_until(lambda: WorkerHeartbeat.objects.filter(worker_id=first).exists(), what="a beat")

    def touched_and_restarted() -> bool:
        mtime = probe.stat().st_mtime + 1
        os.utime(probe, (mtime, mtime))  # the reloader polls modification times
        return len(started()) == 2

    wait_until(touched_and_restarted, what="the worker to restart")
    assert not WorkerHeartbeat.objects.filter(worker_id=first).exists()  # stopped cleanly


def test_a_burst_worker_with_an_unreachable_broker_exits_1_with_one_line(
    worker_process: Callable[..., WorkerProcess],
) -> None:
    worker = worker_process(
        "--burst", "--broker", "redis://:s3cret@127.0.0.1:1/0", "--connect-timeout", "1"
    )
    assert worker.wait(60) == 1
    out, err = worker.output()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(
        "CommandError: Cannot reach the broker at redis://:***@127.0.0.1:1/0 within 1 s "
        "(ConnectionError: "
    )
    assert line.endswith("). Is the server running and the URL right?")
