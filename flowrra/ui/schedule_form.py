"""The schedule form's values, framework-free: a stored schedule as the form's text, or a
new one's defaults. The Django form and the other frameworks' form both fill from here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from ..scheduler.cron import get_zone

#: Suggestions of the time zone field (any IANA name is accepted).
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
SCHEDULE_TYPES = [("cron", "cron"), ("interval", "interval"), ("once", "once")]


def form_values(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """A stored schedule as the form's text values."""
    values = {key: "" if value is None else value for key, value in schedule.items()}
    values["args"] = json.dumps(schedule["args"], ensure_ascii=False)
    values["kwargs"] = json.dumps(schedule["kwargs"], ensure_ascii=False)
    if schedule["schedule_type"] == "once":
        moment = dt.datetime.fromisoformat(schedule["schedule"])
        zone = get_zone(schedule["timezone"])
        values["schedule"] = moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    return values


def new_values(params: Mapping[str, Any], timezone: str) -> dict[str, Any]:
    """A new schedule's values: ``schedule_type`` and ``task_name`` may come from the query
    string (links such as "schedule this task")."""

    def one(name: str, default: str, limit: int) -> str:
        value = params.get(name, default)
        if isinstance(value, list):
            value = value[-1] if value else default
        return str(value)[:limit]

    return {
        "schedule_type": one("schedule_type", "cron", 10),
        "task_name": one("task_name", "", 200),
        "timezone": timezone,
        "args": "[]",
        "kwargs": "{}",
        "enabled": True,
        "missed_policy": "run_once",
    }
