"""The models: JSON fields keep Flowrra's types, ScheduledTask rejects what cannot run."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from flowrra_django.models import ScheduledTask, TaskResult

pytestmark = pytest.mark.django_db


def test_task_result_json_fields_round_trip_flowrra_types() -> None:
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    key = uuid.uuid4()
    TaskResult.objects.create(
        task_id="t1",
        task_name="add",
        status="success",
        args=[when, Decimal("1.50")],
        kwargs={"key": key},
        result={"total": Decimal("3.00"), "at": when.date()},
    )
    row = TaskResult.objects.get(task_id="t1")
    assert row.args == [when, Decimal("1.50")]
    assert row.kwargs == {"key": key}
    assert row.result == {"total": Decimal("3.00"), "at": when.date()}
    assert str(row) == "add[t1] success"


def test_scheduled_task_has_the_fields_the_scheduler_relies_on() -> None:
    fields = {f.name: f for f in ScheduledTask._meta.get_fields() if f.concrete}
    assert list(fields) == [
        "id", "name", "task_name", "schedule_type", "schedule", "timezone", "args", "kwargs",
        "queue", "priority", "max_retries", "retry_delay", "enabled", "missed_policy",
        "description", "last_run_at", "next_run_at", "total_run_count", "created_at",
        "updated_at",
    ]  # fmt: skip
    assert fields["id"].get_internal_type() == "BigAutoField"
    assert fields["name"].unique and fields["name"].max_length == 200
    assert [c for c, _ in fields["schedule_type"].choices] == ["cron", "interval", "once"]
    assert [c for c, _ in fields["missed_policy"].choices] == ["run_once", "skip"]
    assert fields["missed_policy"].default == "run_once"
    # empty task options mean "the task's own settings"
    assert fields["queue"].blank and ScheduledTask().queue == ""
    for name in ("priority", "max_retries", "retry_delay"):
        assert fields[name].null and fields[name].blank and getattr(ScheduledTask(), name) is None
    index = ScheduledTask._meta.indexes[0]
    assert index.fields == ["enabled", "next_run_at"]


def schedule(**changes: object) -> ScheduledTask:
    values: dict[str, object] = {
        "name": "nightly",
        "task_name": "add",
        "schedule_type": "cron",
        "schedule": "30 2 * * *",
        "args": [1, 2],
        "kwargs": {},
    }
    values.update(changes)
    return ScheduledTask(**values)


def errors_of(task: ScheduledTask) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        task.full_clean()
    return caught.value.message_dict


def test_a_valid_schedule_is_normalized_and_saved() -> None:
    task = schedule(schedule="  30   2 * *  * ")
    task.full_clean()
    task.save()
    saved = ScheduledTask.objects.get()
    assert saved.schedule == "30 2 * * *"
    assert saved.task_name == "tests.django.testapp.tasks.add"  # the short name is resolved
    interval = schedule(name="often", schedule_type="interval", schedule="90.0")
    interval.full_clean()
    assert interval.schedule == "90"


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"schedule": "61 * * * *"}, "schedule", "the minute field '61' is not valid"),
        ({"schedule": "* * *"}, "schedule", "has 3 field(s); give exactly five"),
        ({"schedule_type": "interval", "schedule": "0"}, "schedule", "> 0"),
        ({"schedule_type": "interval", "schedule": "-5"}, "schedule", "> 0"),
        ({"schedule_type": "once", "schedule": "tomorrow"}, "schedule", "ISO 8601"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"task_name": "nope"}, "task_name", "No task named 'nope' is registered"),
        ({"args": {"a": 1}}, "args", "JSON list"),
        ({"kwargs": [1]}, "kwargs", "JSON object"),
        ({"args": [1, 2, 3]}, "args", "cannot take these arguments: too many positional"),
        ({"args": [1, 2], "kwargs": {"c": 3}}, "args", "unexpected keyword argument 'c'"),
        ({"queue": "no spaces"}, "queue", "queue must be"),
        ({"priority": 10}, "priority", "less than or equal to 9"),
    ],
)
def test_bad_schedules_are_field_errors(
    changes: dict[str, object], field: str, fragment: str
) -> None:
    errors = errors_of(schedule(**changes))
    assert field in errors
    assert any(fragment in message for message in errors[field]), errors[field]
