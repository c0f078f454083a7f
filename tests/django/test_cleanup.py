"""``manage.py flowrra_cleanup`` deletes old finished results, in batches, and nothing else."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from flowrra.task import utcnow
from flowrra_django.models import TaskResult

pytestmark = pytest.mark.django_db


def make(task_id: str, status: str, age_days: float | None, **fields: object) -> TaskResult:
    finished = None if age_days is None else utcnow() - dt.timedelta(days=age_days)
    return TaskResult.objects.create(
        task_id=task_id, task_name="add", status=status, finished_at=finished, **fields
    )


def cleanup(*args: str) -> str:
    out = StringIO()
    call_command("flowrra_cleanup", *args, stdout=out)
    return out.getvalue()


def test_old_finished_results_go_and_the_rest_stay() -> None:
    for i in range(7):
        make(f"old-{i}", "success", 40)
    make("old-failed", "failed", 40)
    make("recent", "success", 1)
    make("pending", "pending", None)
    make("stuck-running", "running", 40)
    output = cleanup("--days", "30", "--batch-size", "3")
    assert output.startswith("Deleted 8 task result(s) finished before ")
    assert sorted(TaskResult.objects.values_list("task_id", flat=True)) == [
        "pending",
        "recent",
        "stuck-running",
    ]


@override_settings(FLOWRRA={"CLEANUP_AFTER_DAYS": 2})
def test_the_setting_is_the_default_age() -> None:
    make("three-days", "success", 3)
    make("one-day", "success", 1)
    assert cleanup().startswith("Deleted 1 task result(s)")
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["one-day"]


def test_a_retry_keeps_its_row_when_the_original_goes() -> None:
    original = make("original", "failed", 40)
    make("retry", "success", 1, retry_of=original)
    cleanup("--days", "30")
    assert TaskResult.objects.get(task_id="retry").retry_of is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(CommandError, match="expected a whole number >= 1, got '0'"):
        cleanup("--batch-size", "0")
    with pytest.raises(CommandError, match="expected a whole number >= 0, got 'x'"):
        cleanup("--days", "x")
