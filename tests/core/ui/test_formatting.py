"""Formatter and the overview's chart."""

from __future__ import annotations

import datetime as dt
import re

from flowrra.backends.query import ThroughputPoint
from flowrra.ui import Formatter, mask_urls
from flowrra.ui.chart import throughput_svg

T = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_times_durations_and_colours() -> None:
    assert Formatter.format_datetime(T) == "2030-01-01 12:00:00"
    assert Formatter.format_datetime("2030-01-01T12:00:00+02:00") == "2030-01-01 10:00:00"
    assert Formatter.format_datetime(None) == Formatter.format_datetime("junk") == "-"
    assert [Formatter.format_duration(s) for s in (0.25, 4.5, 45, 125, 9000, 200000)] == [
        "250 ms",
        "4.5s",
        "45s",
        "2m 5s",
        "2h 30m",
        "2d 7h",
    ]
    assert Formatter.format_relative(T - dt.timedelta(seconds=3), now=T) == "3 s ago"
    assert Formatter.format_relative(T + dt.timedelta(minutes=5), now=T) == "in 5 min"
    assert Formatter.get_status_color("failed") == "status-failed"
    assert Formatter.get_status_color("<b>") == "status-unknown"


def test_passwords_in_urls_are_masked_and_long_json_is_cut() -> None:
    text = "GET https://bob:hunter2@example.com/a and redis://:pw@cache:6379/0 ok"
    assert mask_urls(text) == "GET https://bob:***@example.com/a and redis://:***@cache:6379/0 ok"
    shown, cut = Formatter.pretty_json({"x": "y" * 100}, limit=20)
    assert cut and len(shown) == 20
    assert Formatter.shorten("a\n  b " * 50, 10) == "a b a b a…"


def test_the_chart_draws_one_bar_group_per_minute_with_escaped_labels() -> None:
    points = [ThroughputPoint(T + dt.timedelta(minutes=m), m, m % 3) for m in range(60)]
    svg = throughput_svg(points, title='<script>"')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<g>") == 60
    assert "<script>" not in svg and "12:10" in svg
    assert 'class="bad"' in svg and 'class="ok"' in svg
    assert "<g>" not in throughput_svg([])


def test_the_chart_s_y_axis_counts_whole_tasks_and_thousands_as_k() -> None:
    def labels(most: int) -> list[str]:
        svg = throughput_svg([ThroughputPoint(T, most, 0)])
        return re.findall(r'dominant-baseline="middle">([^<]+)<', svg)

    assert labels(1) == ["0", "1"]  # no half a task
    assert labels(7) == ["0", "5", "10"]
    assert labels(4321) == ["0", "2.5k", "5k"]
