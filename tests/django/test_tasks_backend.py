"""Django's Tasks framework on Flowrra: tasks enqueued from a view or async code through
``FlowrraTaskBackend`` run in a real ``flowrra_worker`` process."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from flowrra_django.models import QueuedMessage, TaskResult
from tests.django.conftest import WorkerProcess
from tests.waiting import wait_until

if find_spec("django.tasks") is None:
    pytest.importorskip("django_tasks", reason="Django 5.2 needs flowrra[django-tasks]")

from flowrra_django.tasks_compat import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
)
from tests.django.testapp import dj_tasks

pytestmark = pytest.mark.django_db(transaction=True)

StartWorker = Callable[..., WorkerProcess]


def burst(start: StartWorker, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
    worker = start("--burst", *args, env=env)
    assert worker.wait(120) == 0, worker.output()
    return worker


@override_settings(ROOT_URLCONF="tests.django.tasks_urls")
def test_a_task_enqueued_from_a_view_runs_in_a_worker_and_shows_in_the_admin(
    worker_process: StartWorker, admin_client: Client
) -> None:
    response = Client().post("/enqueue-add/", {"a": 2, "b": 3})
    assert response.status_code == 200
    result_id = response.json()["id"]
    assert response.json()["status"] == "READY"
    assert dj_tasks.add.get_result(result_id).status == TaskResultStatus.READY

    burst(worker_process)

    result = dj_tasks.add.get_result(result_id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.args == [2, 3] and result.kwargs == {}
    assert result.attempts == 1 and result.errors == []
    assert result.enqueued_at <= result.started_at <= result.finished_at
    row = TaskResult.objects.get(task_id=result_id)
    assert (row.task_name, row.status, row.result) == (
        "tests.django.testapp.dj_tasks.add",
        "success",
        5,
    )
    page = admin_client.get("/admin/flowrra_django/taskresult/")
    assert "tests.django.testapp.dj_tasks.add" in page.content.decode()


async def test_an_async_task_enqueued_from_async_code_runs_in_a_worker(
    worker_process: StartWorker,
) -> None:
    result = await dj_tasks.async_add.aenqueue(20, b=22)
    assert result.status == TaskResultStatus.READY and result.enqueued_at is not None

    await asyncio.to_thread(burst, worker_process)

    await result.arefresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    fetched = await dj_tasks.async_add.aget_result(result.id)
    assert (fetched.return_value, fetched.kwargs) == (42, {"b": 22})


def test_a_failed_task_reports_the_exception_class_and_traceback(
    worker_process: StartWorker,
) -> None:
    result = dj_tasks.fail.enqueue("the disk is full")
    burst(worker_process)

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.is_finished
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018
    [error] = result.errors
    assert error.exception_class is ValueError
    assert "ValueError: the disk is full" in error.traceback
    assert "raise ValueError(message)" in error.traceback


def test_the_context_gives_the_attempt_and_a_failed_attempt_is_retried_as_options_say(
    worker_process: StartWorker,
) -> None:
    mine = dj_tasks.whoami.enqueue("me")
    flaky = dj_tasks.flaky.enqueue(failures=1)  # the "retrying" backend: MAX_RETRIES 2
    worker = worker_process()  # serving: a burst worker may leave before the retry is due
    wait_until(lambda: dj_tasks.flaky.get_result(flaky.id).is_finished, what="the retry")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0

    mine.refresh()
    assert mine.return_value == {"label": "me", "id": mine.id, "attempt": 1}
    flaky.refresh()
    assert (flaky.status, flaky.return_value, flaky.attempts) == (
        TaskResultStatus.SUCCESSFUL,
        2,
        2,
    )
    assert flaky.backend == "retrying"


def test_a_sync_task_uses_the_orm_in_the_worker(worker_process: StartWorker) -> None:
    result = dj_tasks.count_results.enqueue()
    burst(worker_process)
    result.refresh()
    assert result.return_value == 1  # its own result row


def test_run_after_defers_the_task(worker_process: StartWorker) -> None:
    run_after = timezone.now() + dt.timedelta(seconds=2)
    later = dj_tasks.add.using(run_after=run_after).enqueue(1, 1)
    now = dj_tasks.add.enqueue(2, 2)
    assert later.task.run_after == run_after
    worker = worker_process()
    wait_until(lambda: dj_tasks.add.get_result(now.id).is_finished, what="the first task")
    status = dj_tasks.add.get_result(later.id).status
    if timezone.now() < run_after:  # read before its time (a slow worker start may pass it)
        assert status == TaskResultStatus.READY
    wait_until(lambda: dj_tasks.add.get_result(later.id).is_finished, what="the deferred one")
    worker.kill()
    later.refresh()
    assert later.return_value == 2
    assert later.started_at >= run_after


def test_higher_priorities_run_first(worker_process: StartWorker, tmp_path: Path) -> None:
    log = tmp_path / "order"
    priorities = [-100, 0, 100, -10, 50, 10, -30, 30]
    for priority in priorities:
        dj_tasks.record.using(priority=priority).enqueue(str(log), str(priority))
    burst(worker_process, "--io-workers", "1")
    ran = [int(line) for line in log.read_text().split()]
    assert ran == sorted(priorities, reverse=True)
    stored = dj_tasks.record.get_result(TaskResult.objects.get(result="100").task_id)
    assert stored.task.priority == 100


def test_an_unknown_queue_is_rejected_at_enqueue() -> None:
    with pytest.raises(InvalidTask, match="Queue 'reports' is not valid for backend"):
        dj_tasks.add.using(queue_name="reports").enqueue(1, 2)
    assert not TaskResult.objects.exists() and not QueuedMessage.objects.exists()


@pytest.mark.parametrize(
    "args", [(dt.datetime(2026, 1, 1), 1), (object(), 2)], ids=["datetime", "object"]
)
def test_an_argument_that_is_not_json_is_rejected_at_enqueue(args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match="Unsupported type"):
        dj_tasks.add.enqueue(*args)
    assert not TaskResult.objects.exists() and not QueuedMessage.objects.exists()


def test_the_three_signals_come_from_the_process_where_each_happens(
    worker_process: StartWorker, tmp_path: Path
) -> None:
    received: list[tuple[type, Any]] = []

    def on_enqueued(sender: type, task_result: Any, **kwargs: Any) -> None:
        received.append((sender, task_result))

    task_enqueued.connect(on_enqueued)
    try:
        ok = dj_tasks.add.enqueue(1, 2)
        failed = dj_tasks.fail.enqueue("no")
    finally:
        task_enqueued.disconnect(on_enqueued)
    assert [result.id for _, result in received] == [ok.id, failed.id]
    assert {sender.__name__ for sender, _ in received} == {"FlowrraTaskBackend"}
    assert all(result.enqueued_at is not None for _, result in received)

    log = tmp_path / "signals"
    worker = burst(worker_process, env={"FLOWRRA_TEST_SIGNAL_LOG": str(log)})
    lines = [line.split() for line in log.read_text().splitlines()]
    pid = str(worker.pid)
    assert sorted(lines) == sorted(
        [
            ["started", ok.id, "RUNNING", pid],
            ["finished", ok.id, "SUCCESSFUL", pid],
            ["started", failed.id, "RUNNING", pid],
            ["finished", failed.id, "FAILED", pid],
        ]
    )
    assert os.getpid() != worker.pid


def test_get_result_of_an_unknown_id_raises_task_result_does_not_exist() -> None:
    with pytest.raises(TaskResultDoesNotExist):
        dj_tasks.add.get_result("no-such-id")
