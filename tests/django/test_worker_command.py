"""``manage.py flowrra_worker`` run in the test process through call_command."""

from __future__ import annotations

import logging
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

import flowrra_django
from flowrra_django import runtime
from flowrra_django.models import QueuedMessage, TaskResult
from tests.django.testapp import tasks

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker(*args: str) -> str:
    runtime.shutdown()
    out = StringIO()
    call_command("flowrra_worker", *args, stdout=out)
    return out.getvalue()


def statuses() -> dict[str, str]:
    return dict(TaskResult.objects.values_list("task_name", "status"))


def test_burst_runs_what_is_queued_then_returns() -> None:
    ok = flowrra_django.submit(tasks.add, 2, 3)
    failed = flowrra_django.submit(tasks.fail, "boom")
    banner = run_worker("--burst")
    assert TaskResult.objects.get(task_id=ok).result == 5
    failure = TaskResult.objects.get(task_id=failed)
    assert (failure.status, failure.error_type, failure.error) == ("failed", "ValueError", "boom")
    assert "raise ValueError(message)" in failure.traceback
    assert not QueuedMessage.objects.exists()
    assert "Flowrra worker " in banner
    assert "  broker:      django:// (" in banner
    assert "  queues:      default, emails\n" in banner
    assert "  concurrency: 4 async, 1 CPU processes, prefetch 64" in banner
    assert "tests.django.testapp.tasks.add, tests.django.testapp.tasks.count_results" in banner
    assert "burst (exit when the queues are empty)" in banner


def test_max_tasks_stops_after_that_many() -> None:
    for i in range(5):
        flowrra_django.submit(tasks.add, i, i)
    banner = run_worker("--max-tasks", "2", "--prefetch", "1", "--io-workers", "1")
    assert "at most 2 tasks" in banner
    assert TaskResult.objects.filter(status="success").count() == 2
    assert QueuedMessage.objects.count() == 3


def test_a_worker_takes_only_the_queues_it_is_given() -> None:
    urgent = flowrra_django.options(queue="urgent").submit(tasks.add, 1, 1)
    normal = flowrra_django.submit(tasks.add, 2, 2)
    run_worker("--burst", "--queues", "urgent")
    assert TaskResult.objects.get(task_id=urgent).status == "success"
    assert TaskResult.objects.get(task_id=normal).status == "pending"


def test_a_failing_task_is_retried_with_its_count_visible() -> None:
    task_id = flowrra_django.submit(tasks.flaky, 1)
    run_worker("--max-tasks", "2")
    done = TaskResult.objects.get(task_id=task_id)
    assert (done.status, done.result, done.retries) == ("success", 1, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--io-workers", "0"], "expected a whole number >= 1, got '0'"),
        (["--queues", "a b"], "queue must be 1-100 characters"),
        (["--broker", "amqp://x"], "Unsupported broker URL scheme 'amqp'"),
        (["--shutdown-timeout", "-1"], "expected a number of seconds > 0"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run_worker(*args)


@override_settings(FLOWRRA={"IO_WORKERS": "four"})
def test_the_worker_runs_the_system_checks_first() -> None:
    with pytest.raises(SystemCheckError, match=r"flowrra.E003.*IO_WORKERS"):
        run_worker("--burst")


def test_a_burst_worker_logs_each_task_and_what_it_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok = flowrra_django.submit(tasks.add, 2, 3)
    failed = flowrra_django.submit(tasks.fail, "boom")
    retried = flowrra_django.options(max_retries=1, retry_delay=60).submit(tasks.fail, "again")
    flowrra_django.options(countdown=600).submit(tasks.add, 1, 1)
    with caplog.at_level(logging.INFO, logger="flowrra"):
        run_worker("--burst")
    lines = [r.getMessage() for r in caplog.records if r.name == "flowrra.worker"]
    add, fail = "tests.django.testapp.tasks.add", "tests.django.testapp.tasks.fail"
    assert any(re.fullmatch(rf"Task {add}\[{ok}\] succeeded in \d+\.\d{{3}} s", x) for x in lines)
    assert any(
        re.fullmatch(rf"Task {fail}\[{failed}\] failed in \d+\.\d{{3}} s: ValueError: boom", x)
        for x in lines
    )
    assert any(
        re.fullmatch(
            rf"Task {fail}\[{retried}\] failed in \d+\.\d{{3}} s \(ValueError: again\); "
            r"retry 1/1 in \d+\.\d\d s",
            x,
        )
        for x in lines
    )
    [summary] = [x for x in lines if " stopped after " in x]
    assert re.fullmatch(
        r"Worker \S+ stopped after 3 task\(s\) \(1 succeeded, 1 failed, 1 retried\); left in "
        r"the broker: 2 delayed \(1 of them retries of tasks run here, the next due in "
        r"\d+\.\d s\)",
        summary,
    ), summary


def test_the_loglevel_option_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("flowrra_worker", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "-l LEVEL, --loglevel LEVEL DEBUG, INFO (the default: a line per finished task" in text
