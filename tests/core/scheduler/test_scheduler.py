"""The Scheduler driven by a manual clock: firing, waking, downtime, validation, the app."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from flowrra import Config, Flowrra, SchedulerConfig
from flowrra.scheduler import SCHEDULE_FIRED, MemorySchedulerBackend, Scheduler

from .conftest import START, Harness

UTC = dt.UTC


async def test_an_interval_schedule_fires_each_time_it_is_due(harness: Harness) -> None:
    await harness.scheduler.schedule_interval("ping", 10, args=["tick"])
    await harness.advance(9)
    assert harness.runs == []
    await harness.advance(1)
    await harness.advance(10)
    assert harness.runs == [
        (START + dt.timedelta(seconds=10), "tick"),
        (START + dt.timedelta(seconds=20), "tick"),
    ]


async def test_adding_a_schedule_wakes_a_scheduler_sleeping_for_an_hour(harness: Harness) -> None:
    await harness.advance(1)  # asleep now: nothing is scheduled, check_interval is 3600 s
    await harness.scheduler.schedule_interval("ping", 5)
    await harness.advance(5)
    assert [when for when, _ in harness.runs] == [START + dt.timedelta(seconds=6)]


async def test_daily_0230_berlin_runs_once_a_day_across_both_dst_changes(harness: Harness) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    for day in (
        dt.datetime(2025, 3, 29, 12, tzinfo=UTC),
        dt.datetime(2025, 10, 25, 12, tzinfo=UTC),
    ):
        harness.runs.clear()
        await harness.clock.advance((day - harness.clock.now()).total_seconds())
        schedule_id = await harness.scheduler.schedule_cron(
            "ping", "30 2 * * *", timezone="Europe/Berlin"
        )
        for _ in range(3 * 24 * 12):  # three days in five-minute steps
            await harness.advance(300)
        await harness.scheduler.unschedule(schedule_id)
        local_days = Counter(when.astimezone(berlin).date().isoformat() for when, _ in harness.runs)
        assert list(local_days.values()) == [1, 1, 1]
    assert [when.astimezone(berlin).strftime("%m-%d %H:%M %Z") for when, _ in harness.runs] == [
        "10-26 02:30 CEST",
        "10-27 02:30 CET",
        "10-28 02:30 CET",
    ]


@pytest.mark.parametrize(("policy", "expected_runs"), [("run_once", 1), ("skip", 0)])
async def test_a_scheduler_that_was_down_fires_a_missed_schedule_at_most_once(
    harness: Harness, policy: str, expected_runs: int
) -> None:
    schedule_id = await harness.scheduler.schedule_interval("ping", 60, missed_policy=policy)
    await harness.app.stop()
    await harness.clock.advance(3 * 3600 + 30)  # 180 occurrences pass while nothing runs
    await harness.app.start()
    await harness.advance(0)
    assert len(harness.runs) == expected_runs
    stored = await harness.scheduler.get_scheduled_task(schedule_id)
    assert stored is not None
    assert stored.next_run_at == START + dt.timedelta(hours=3, seconds=60)
    await harness.advance(30)
    assert len(harness.runs) == expected_runs + 1


async def test_a_one_off_runs_once_then_is_disabled(harness: Harness) -> None:
    run_at = START + dt.timedelta(minutes=5)
    schedule_id = await harness.scheduler.schedule_once("ping", run_at, kwargs={"value": "once"})
    await harness.advance(300)
    await harness.advance(3600)
    assert harness.runs == [(run_at, "once")]
    stored = await harness.scheduler.get_scheduled_task(schedule_id)
    assert stored is not None and not stored.enabled and stored.total_run_count == 1
    with pytest.raises(ValueError, match="already run"):
        await harness.scheduler.enable_task(schedule_id)


async def test_disable_enable_and_unschedule(harness: Harness) -> None:
    scheduler = harness.scheduler
    schedule_id = await scheduler.schedule_interval("ping", 10)
    await scheduler.disable_task(schedule_id)
    await harness.advance(60)
    assert harness.runs == []
    await scheduler.enable_task(schedule_id)  # planned from now: one interval later
    await harness.advance(10)
    assert [when for when, _ in harness.runs] == [START + dt.timedelta(seconds=70)]
    assert await scheduler.unschedule(schedule_id) is True
    assert await scheduler.unschedule(schedule_id) is False
    await harness.advance(60)
    assert len(harness.runs) == 1
    with pytest.raises(ValueError, match="no scheduled task"):
        await scheduler.enable_task(schedule_id)


async def test_schedule_options_reach_the_submitted_task(harness: Harness) -> None:
    fired: list[dict] = []
    harness.app.events.subscribe(
        lambda event: fired.append(event) if event["type"] == SCHEDULE_FIRED else None
    )
    schedule_id = await harness.scheduler.schedule_interval(
        "ping", 5, priority=7, queue="reports", args=[1]
    )
    await harness.advance(5)
    assert len(fired) == 1
    assert fired[0]["schedule"] == schedule_id
    assert fired[0]["due"] == (START + dt.timedelta(seconds=5)).isoformat()
    result = await harness.app.get_result(fired[0]["task_id"])
    assert result is not None and (result.queue, result.priority) == ("reports", 7)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (("schedule_cron", "ping", "61 * * * *"), ValueError, "minute field '61'"),
        (("schedule_cron", "ping", "* * *"), ValueError, "has 3 field"),
        (("schedule_interval", "ping", 0), ValueError, "> 0"),
        (("schedule_interval", "ping", -1), ValueError, "> 0"),
        (("schedule_interval", "nope", 10), ValueError, "Task 'nope' is not registered"),
        (("schedule_once", "ping", dt.datetime(2030, 1, 1)), ValueError, "timezone-aware"),
    ],
)
async def test_bad_definitions_are_rejected_and_nothing_is_saved(
    harness: Harness, call: tuple, error: type[Exception], message: str
) -> None:
    method, *arguments = call
    with pytest.raises(error, match=message.replace("*", r"\*")):
        await getattr(harness.scheduler, method)(*arguments)
    assert await harness.scheduler.list_scheduled_tasks() == []


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"args": [object()]}, TypeError, "positional argument 0 cannot be sent as JSON"),
        ({"kwargs": {"when": {1, object()}}}, TypeError, "keyword argument 'when'"),
        ({"args": "abc"}, TypeError, "args must be a list or tuple"),
        ({"kwargs": {1: "x"}}, TypeError, "kwargs keys must be argument names"),
        ({"priority": 12}, ValueError, "priority must be a whole number from 0 to 9"),
        ({"queue": "bad queue"}, ValueError, "queue must be"),
        ({"missed_policy": "catch_up"}, ValueError, "missed_policy must be 'run_once' or 'skip'"),
        ({"timezone": "Mars/Base"}, ValueError, "unknown time zone"),
        ({"colour": "red"}, TypeError, "unknown schedule option"),
    ],
)
async def test_bad_arguments_and_options_are_rejected_and_nothing_is_saved(
    harness: Harness, options: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await harness.scheduler.schedule_interval("ping", 10, **options)
    assert await harness.scheduler.list_scheduled_tasks() == []


async def test_a_submit_callback_receives_the_task_name_and_arguments() -> None:
    clock_start = START
    seen: list[tuple] = []

    async def callback(name: str, *args: object, **kwargs: object) -> str:
        seen.append((name, args, kwargs))
        return "id"

    scheduler = Scheduler(MemorySchedulerBackend(), check_interval=1)
    scheduler.set_submit_callback(callback)
    await scheduler.schedule_once("report", clock_start, args=[1], kwargs={"to": "ops"})
    assert await scheduler.run_pending() != []
    assert seen == [("report", (1,), {"to": "ops"})]


async def test_start_needs_somewhere_to_submit() -> None:
    with pytest.raises(ValueError, match="set_submit_callback"):
        await Scheduler(MemorySchedulerBackend()).start()


async def test_scheduler_config_enabled_creates_the_scheduler_with_the_app() -> None:
    app = Flowrra(
        Config(scheduler=SchedulerConfig(database_url="memory://", check_interval=5, enabled=True))
    )
    assert app.scheduler is None
    async with app:
        assert app.scheduler is not None and app.scheduler.is_running
        assert app.scheduler.check_interval == 5
    assert not app.scheduler.is_running


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [("run_once", "covered by this one run"), ("skip", "skipped (missed_policy=skip)")],
)
async def test_occurrences_passed_over_while_the_beat_could_not_run_are_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture, policy: str, outcome: str
) -> None:
    schedule_id = await harness.scheduler.schedule_interval("ping", 1, missed_policy=policy)
    await harness.advance(1)
    assert len(harness.runs) == 1
    with caplog.at_level("WARNING", logger="flowrra.scheduler"):
        await harness.advance(3.5)  # the beat could not run for 3.5 s (a dropped database)

    assert len(harness.runs) == 2  # once for the late occurrence, within the grace
    lines = [r.getMessage() for r in caplog.records if "later occurrence" in r.getMessage()]
    assert len(lines) == 1, lines
    assert schedule_id in lines[0] and "2 later occurrence(s)" in lines[0] and outcome in lines[0]
    assert (START + dt.timedelta(seconds=3)).isoformat() in lines[0]
    assert (START + dt.timedelta(seconds=4)).isoformat() in lines[0]
