"""ScheduledTask round trips and the pure decision taken for a due schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from flowrra.scheduler import (
    Decision,
    MissedPolicy,
    ScheduledTask,
    ScheduleType,
    decide,
    normalize_schedule,
)

UTC = dt.UTC
NOON = dt.datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def interval(seconds: str, next_run_at: dt.datetime | None, **fields: object) -> ScheduledTask:
    return ScheduledTask(
        "s1", "ping", ScheduleType.INTERVAL, seconds, next_run_at=next_run_at, **fields
    )


def test_to_dict_and_from_dict_round_trip() -> None:
    task = ScheduledTask(
        "s1",
        "report",
        ScheduleType.CRON,
        "0 9 * * mon",
        args=(1, "a"),
        kwargs={"to": "ops"},
        next_run_at=NOON,
        timezone="Europe/Berlin",
        queue="mail",
        priority=7,
        missed_policy=MissedPolicy.SKIP,
        name="weekly report",
        total_run_count=3,
    )
    data = task.to_dict()
    assert data["schedule_type"] == "cron"
    assert data["next_run_at"] == "2025-06-02T12:00:00+00:00"
    assert ScheduledTask.from_dict(data) == task


def test_from_dict_reads_the_first_apis_one_time_type_and_naive_times_as_utc() -> None:
    task = ScheduledTask.from_dict(
        {
            "id": "x",
            "task_name": "ping",
            "schedule_type": "one_time",
            "schedule": "2025-06-02T12:00:00+00:00",
            "next_run_at": "2025-06-02T12:00:00",
            "created_at": "2025-06-01T00:00:00",
            "updated_at": "2025-06-01T00:00:00",
        }
    )
    assert task.schedule_type is ScheduleType.ONCE is ScheduleType.ONE_TIME
    assert task.next_run_at == NOON


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("cron", "0  9 * * *", "0 9 * * *"),
        ("interval", 30, "30"),
        ("interval", "2.5", "2.5"),
        (
            "once",
            dt.datetime(2025, 6, 2, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2025-06-02T12:00:00+00:00",
        ),
    ],
)
def test_normalize_schedule(kind: str, value: object, stored: str) -> None:
    assert normalize_schedule(kind, value, "UTC") == stored


@pytest.mark.parametrize(
    ("kind", "value", "timezone", "message"),
    [
        ("interval", 0, "UTC", "number of seconds > 0"),
        ("interval", -5, "UTC", "number of seconds > 0"),
        ("interval", "soon", "UTC", "must be a number of seconds"),
        ("interval", float("inf"), "UTC", "number of seconds > 0"),
        ("once", dt.datetime(2025, 6, 2, 12, 0), "UTC", "timezone-aware"),
        ("once", "tomorrow", "UTC", "ISO 8601"),
        ("cron", "61 * * * *", "UTC", "minute field '61'"),
        ("cron", "0 9 * * *", "Nowhere/City", "unknown time zone"),
        ("weekly", "x", "UTC", "'weekly' is not a valid ScheduleType"),
    ],
)
def test_normalize_schedule_rejects_bad_definitions(
    kind: str, value: object, timezone: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        normalize_schedule(kind, value, timezone)


def test_an_on_time_run_fires_and_the_interval_keeps_its_phase() -> None:
    task = interval("60", NOON)
    decision = decide(task, NOON + dt.timedelta(seconds=0.4))
    assert decision.fire and not decision.missed
    assert decision.next_run_at == NOON + dt.timedelta(seconds=60)


@pytest.mark.parametrize(
    ("policy", "fires"), [(MissedPolicy.RUN_ONCE, True), (MissedPolicy.SKIP, False)]
)
def test_after_downtime_a_schedule_fires_at_most_once_and_resumes_after_now(
    policy: MissedPolicy, fires: bool
) -> None:
    task = interval("60", NOON, missed_policy=policy)
    three_hours_later = NOON + dt.timedelta(hours=3, seconds=20)
    decision = decide(task, three_hours_later, grace=60)
    assert decision.missed
    assert decision.fire is fires
    assert decision.next_run_at == NOON + dt.timedelta(hours=3, seconds=60)


def test_a_cron_run_late_by_less_than_the_grace_is_not_missed() -> None:
    task = ScheduledTask(
        "c",
        "ping",
        ScheduleType.CRON,
        "0 12 * * *",
        next_run_at=NOON,
        missed_policy=MissedPolicy.SKIP,
    )
    decision = decide(task, NOON + dt.timedelta(seconds=30), grace=60)
    assert decision.fire and not decision.missed
    assert decision.next_run_at == NOON + dt.timedelta(days=1)


def test_a_one_off_finishes_and_an_unplanned_schedule_is_only_planned() -> None:
    once = ScheduledTask("o", "ping", ScheduleType.ONCE, NOON.isoformat(), next_run_at=NOON)
    assert decide(once, NOON) == Decision(fire=True, next_run_at=None, missed=False)
    fresh = interval("10", None)
    planned = decide(fresh, NOON)
    assert not planned.fire and planned.next_run_at == NOON + dt.timedelta(seconds=10)
