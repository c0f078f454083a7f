"""The task list's query string: good values make a query, hostile ones name the field."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from flowrra.task import TaskStatus
from flowrra.ui import InvalidFilter, parse_task_filters

NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)


def test_values_become_a_query() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    filters = parse_task_filters(
        {
            "status": ["failed", "retrying"],
            "task": "add",
            "queue": "mail",
            "worker": "w:1",
            "from": "2030-01-01T09:00",
            "q": " boom ",
            "sort": "oldest",
            "per_page": "20",
        },
        timezone=berlin,
    )
    query = filters.query
    assert query.statuses == {TaskStatus.FAILED, TaskStatus.RETRYING}
    assert (query.task_name, query.queue, query.worker) == ("add", "mail", "w:1")
    assert query.submitted_from == dt.datetime(2030, 1, 1, 9, tzinfo=berlin)
    assert (query.search, query.order, query.limit) == ("boom", "oldest", 20)
    ranged = parse_task_filters({"range": "1h"}, now=NOW).query
    assert ranged.submitted_from == NOW - dt.timedelta(hours=1)
    assert not parse_task_filters({}).query.filtered


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2030-13-45"}, "to"),
        ({"from": "2030-01-02T00:00", "to": "2030-01-01T00:00"}, "to"),
        ({"per_page": "-1"}, "per_page"),
        ({"per_page": "100000"}, "per_page"),
        ({"per_page": "1e3"}, "per_page"),
        ({"q": "x" * 5000}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"sort": "random()"}, "sort"),
        ({"range": "forever"}, "range"),
        ({"after": "not-a-cursor"}, "after"),
        ({"task": "t" * 300}, "task"),
    ],
)
def test_hostile_values_name_their_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_task_filters(params)
    assert caught.value.field == field
