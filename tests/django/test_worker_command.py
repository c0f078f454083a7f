"""``manage.py flowrra_worker`` run in the test process through call_command."""

from __future__ import annotations

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
