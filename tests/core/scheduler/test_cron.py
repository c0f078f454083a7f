"""Cron expressions: validation messages and fire times across daylight saving changes."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from flowrra.scheduler import CronExpression, next_fire_time

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def fires(
    expression: str, zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """Every fire time in (start, end], in ``zone``, walking the pure function."""
    cron, moment, out = CronExpression(expression), start, []
    while True:
        moment = next_fire_time(cron, moment, zone)
        if moment > end:
            return [m.astimezone(zone) for m in out]
        out.append(moment)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "the minute field '61' is not valid (allowed: 0-59"),
        ("* 24 * * *", "the hour field '24' is not valid (allowed: 0-23"),
        ("* * * 13 *", "the month field '13' is not valid"),
        ("*/0 * * * *", "the minute field '*/0' is not valid"),
        ("* * *", "has 3 field(s); give exactly five: minute hour day-of-month month day-of-week"),
        ("* * * * * *", "has 6 field(s)"),
        ("", "is empty"),
        ("@sometimes", "unknown cron macro '@sometimes'"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_invalid_expressions_raise_a_readable_value_error(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        CronExpression(expression)
    assert message in str(caught.value)


def test_valid_expressions_are_normalized() -> None:
    assert CronExpression("  30   2 * *  mon-fri ").expression == "30 2 * * mon-fri"
    assert CronExpression("@DAILY").expression == "@daily"
    assert CronExpression("*/5 * * * *") == CronExpression("*/5  * * * *")


def test_next_run_is_strictly_after_and_in_utc() -> None:
    cron = CronExpression("0 9 * * *")
    at_nine = dt.datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    assert cron.next_run(at_nine) == dt.datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
    assert cron.next_run(at_nine, "Europe/Berlin") == dt.datetime(2025, 6, 3, 7, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        cron.next_run(at_nine, "Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_time(cron, dt.datetime(2025, 6, 2), BERLIN)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # 02:30 does not exist on 30 March: it runs when the clocks jump, at 03:00 CEST
        (
            dt.datetime(2025, 3, 29, 0, 0),
            ["03-29 02:30 CET", "03-30 03:00 CEST", "03-31 02:30 CEST"],
        ),
        # 02:30 happens twice on 26 October: only the first one (CEST) fires
        (
            dt.datetime(2025, 10, 25, 0, 0),
            ["10-25 02:30 CEST", "10-26 02:30 CEST", "10-27 02:30 CET"],
        ),
    ],
)
def test_daily_0230_in_berlin_fires_once_on_each_dst_change_day(
    start: dt.datetime, expected: list[str]
) -> None:
    begin = start.replace(tzinfo=UTC)
    days = fires("30 2 * * *", BERLIN, begin, begin + dt.timedelta(days=3))
    assert [d.strftime("%m-%d %H:%M %Z") for d in days] == expected


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.datetime(2025, 3, 29, 22, 0, tzinfo=UTC), dt.datetime(2025, 3, 30, 4, 0, tzinfo=UTC)),
        (dt.datetime(2025, 10, 25, 22, 0, tzinfo=UTC), dt.datetime(2025, 10, 26, 4, 0, tzinfo=UTC)),
    ],
)
def test_every_15_minutes_keeps_elapsed_time_across_both_changes(
    start: dt.datetime, end: dt.datetime
) -> None:
    times = [moment.astimezone(UTC) for moment in fires("*/15 * * * *", BERLIN, start, end)]
    gaps = {later - earlier for earlier, later in itertools.pairwise(times)}
    assert gaps == {dt.timedelta(minutes=15)}
    assert len(times) == 6 * 4


def test_the_repeated_hour_runs_an_hourly_job_twice_and_a_fixed_hour_job_once() -> None:
    start = dt.datetime(2025, 10, 25, 23, 0, tzinfo=UTC)
    end = dt.datetime(2025, 10, 26, 3, 0, tzinfo=UTC)
    hourly = fires("30 * * * *", BERLIN, start, end)
    assert [d.strftime("%H:%M %Z") for d in hourly] == [
        "01:30 CEST",
        "02:30 CEST",
        "02:30 CET",
        "03:30 CET",
    ]
    fixed = fires("30 1,2,3 * * *", BERLIN, start, end)
    assert [d.strftime("%H:%M %Z") for d in fixed] == ["01:30 CEST", "02:30 CEST", "03:30 CET"]


def test_other_zones_and_southern_hemisphere() -> None:
    new_york = ZoneInfo("America/New_York")
    spring = fires(
        "30 2 * * *",
        new_york,
        dt.datetime(2025, 3, 8, 12, 0, tzinfo=UTC),
        dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC),
    )
    assert [d.strftime("%m-%d %H:%M %Z") for d in spring] == ["03-09 03:00 EDT", "03-10 02:30 EDT"]
    sydney = ZoneInfo("Australia/Sydney")  # clocks go back on 6 April 2025, 03:00 -> 02:00
    autumn = fires(
        "30 2 * * *",
        sydney,
        dt.datetime(2025, 4, 4, 12, 0, tzinfo=UTC),
        dt.datetime(2025, 4, 6, 12, 0, tzinfo=UTC),
    )
    assert [d.strftime("%m-%d %H:%M %Z") for d in autumn] == [
        "04-05 02:30 AEDT",
        "04-06 02:30 AEDT",
    ]
