"""The Django API and the FastAPI, Flask and Quart dashboards (:mod:`flowrra.ui.web`) write
the same JSON for the same data: payloads come from :mod:`flowrra.ui.serialize`, and both
encoders write datetimes, dates and odd values alike."""

from __future__ import annotations

import datetime as dt
import json

from flowrra.task import TaskResult, TaskStatus
from flowrra.ui.serialize import task_detail_json
from flowrra.ui.web import Response
from flowrra_django.views.api.base import ApiEncoder


def test_both_encoders_write_the_same_json() -> None:
    moment = dt.datetime(2030, 1, 31, 9, 5, 7, 123456, tzinfo=dt.UTC)
    result = TaskResult(
        "t1", TaskStatus.SUCCESS, "add", result={"n": 1}, submitted_at=moment, finished_at=moment
    )
    data = {
        **task_detail_json({"task": result, "retry_of": None, "retried_as": ["t2"]}),
        "counts_since": moment,
        "plain": dt.datetime(2030, 1, 31, 9, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": moment.date(),
        "odd": object.__new__(type("Odd", (), {"__repr__": lambda self: "<odd>"})),
    }
    django = json.loads(json.dumps(data, cls=ApiEncoder))
    mine = json.loads(Response.json(data).body)
    assert mine == django
    assert mine["counts_since"] == "2030-01-31T09:05:07.123Z"
