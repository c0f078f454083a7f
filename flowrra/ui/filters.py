"""The task list's filters, read from a query string into a :class:`ResultQuery`.

Every value is checked: an unknown status, a malformed time, a page size out of range,
an over-long search or a forged cursor raise :class:`InvalidFilter` naming the parameter,
which adapters answer with a 400 page, never a server error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ..backends.query import MAX_PAGE_SIZE, MAX_SEARCH_LENGTH, Cursor, Order, ResultQuery
from ..task import TaskStatus

#: The "last ..." choices of the time range filter.
RANGES = {
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
PAGE_SIZES = (20, 50, 100, 200)
_MAX_NAME = 200


class InvalidFilter(ValueError):
    """A query parameter that cannot be used: ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class TaskFilters:
    """The filters as the form shows them, and the query they make."""

    values: dict[str, Any]
    query: ResultQuery


def _one(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name, "")
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[-1] if value else ""
    text = str(value).strip()
    if "\x00" in text:
        raise InvalidFilter(name, "contains a NUL character")
    return text


def _many(params: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist is not None else params.get(name, [])
    values = [raw] if isinstance(raw, str) else list(raw or [])
    return [str(value).strip() for value in values if str(value).strip()]


def _name(params: Mapping[str, Any], field: str) -> str | None:
    value = _one(params, field)
    if len(value) > _MAX_NAME:
        raise InvalidFilter(field, f"longer than {_MAX_NAME} characters")
    return value or None


def _moment(params: Mapping[str, Any], field: str, zone: dt.tzinfo) -> dt.datetime | None:
    value = _one(params, field)
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(field, "enter a date and time such as 2030-01-31T09:00") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_task_filters(
    params: Mapping[str, Any], *, timezone: dt.tzinfo = dt.UTC, now: dt.datetime | None = None
) -> TaskFilters:
    """Read ``status`` (repeatable), ``task``, ``queue``, ``worker``, ``range`` (one of
    :data:`RANGES`) or ``from``/``to`` (times in ``timezone`` unless they carry an offset),
    ``q`` (search), ``sort`` (newest/oldest), ``per_page``, ``after`` (a page cursor) and
    ``live`` (the page reloads itself; adapters decide how)."""
    statuses = set()
    for value in _many(params, "status"):
        try:
            statuses.add(TaskStatus(value))
        except ValueError:
            known = ", ".join(status.value for status in TaskStatus)
            raise InvalidFilter(
                "status", f"unknown status {value[:40]!r}; known: {known}"
            ) from None
    search = _one(params, "q")
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidFilter("q", f"search for at most {MAX_SEARCH_LENGTH} characters")
    sort = _one(params, "sort") or "newest"
    if sort not in ("newest", "oldest"):
        raise InvalidFilter("sort", "sort by 'newest' or 'oldest'")
    size_text = _one(params, "per_page") or "50"
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
        raise InvalidFilter("per_page", f"a number of rows from 1 to {MAX_PAGE_SIZE}")
    span = _one(params, "range")
    if span and span not in RANGES:
        raise InvalidFilter("range", f"one of {', '.join(RANGES)}")
    start = _moment(params, "from", timezone)
    end = _moment(params, "to", timezone)
    if span:
        start = (now or dt.datetime.now(dt.UTC)) - RANGES[span]
    if start and end and start >= end:
        raise InvalidFilter("to", "the end must be after the start")
    token = _one(params, "after")
    try:
        cursor = Cursor.decode(token) if token else None
    except ValueError as exc:
        raise InvalidFilter("after", str(exc)) from None
    query = ResultQuery(
        statuses=frozenset(statuses),
        task_name=_name(params, "task"),
        queue=_name(params, "queue"),
        worker=_name(params, "worker"),
        submitted_from=start,
        submitted_to=end,
        search=search or None,
        order=cast(Order, sort),  # checked above
        limit=int(size_text),
        after=cursor,
    )
    values = {
        "status": sorted(status.value for status in statuses),
        "task": query.task_name or "",
        "queue": query.queue or "",
        "worker": query.worker or "",
        "range": span,
        "from": _one(params, "from") if not span else "",
        "to": _one(params, "to"),
        "q": search,
        "sort": sort,
        "per_page": int(size_text),
        "live": _one(params, "live") in ("1", "on"),
    }
    return TaskFilters(values, query)
