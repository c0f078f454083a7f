"""The result backend's query interface: what dashboards ask of stored results.

A :class:`ResultQuery` filters (statuses, task name, queue, worker, submission time
range), searches (task id, name, arguments, error) and pages by keyset: a page ends with
a cursor naming its last row, and the next page starts after it, so page 1,000 costs what
page 1 costs. Backends implement :meth:`BaseResultBackend.query`,
:meth:`~BaseResultBackend.status_counts` and :meth:`~BaseResultBackend.throughput`;
:func:`matches` is the reference filter those that filter in Python share.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Literal

from ..serialization import dumps
from ..task import TaskResult, TaskStatus

#: Most results one page holds.
MAX_PAGE_SIZE = 200
#: Longest search text accepted (longer ones are refused, not truncated).
MAX_SEARCH_LENGTH = 200
#: How many of the newest results matching the filters (from the cursor on) one page of
#: a search looks through. A search over every stored row would read the whole table; the
#: page's cursor continues the search further back, and a time range reaches old rows.
SEARCH_WINDOW = 20_000

Order = Literal["newest", "oldest"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the submission time and tie-breaker of its last row.

    ``key`` is the backend's own tie-breaker (a row id, a task id); :meth:`encode` makes an
    opaque URL-safe token of it and :meth:`decode` refuses anything else with ``ValueError``.
    """

    submitted_at: dt.datetime
    key: str

    def encode(self) -> str:
        raw = json.dumps([self.submitted_at.isoformat(), self.key], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            when, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
            moment = dt.datetime.fromisoformat(when)
        except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
            raise ValueError(f"invalid page cursor {token[:40]!r}") from exc
        if moment.tzinfo is None or not isinstance(key, str):
            raise ValueError(f"invalid page cursor {token[:40]!r}")
        return cls(moment, key)


@dataclass(frozen=True, slots=True)
class ResultQuery:
    """Which results to list, in which order, from where.

    ``after`` is the cursor of the previous page's last row (None: the first page).
    ``submitted_from`` is inclusive and ``submitted_to`` exclusive. ``search`` matches an
    exact task id, or text in the task name, arguments or error (case-insensitive).
    """

    statuses: frozenset[TaskStatus] = frozenset()
    task_name: str | None = None
    queue: str | None = None
    worker: str | None = None
    submitted_from: dt.datetime | None = None
    submitted_to: dt.datetime | None = None
    search: str | None = None
    order: Order = "newest"
    limit: int = 50
    after: Cursor | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be 1-{MAX_PAGE_SIZE}, got {self.limit!r}")
        if self.order not in ("newest", "oldest"):
            raise ValueError(f"order must be 'newest' or 'oldest', got {self.order!r}")
        if self.search is not None and len(self.search) > MAX_SEARCH_LENGTH:
            raise ValueError(f"search text is longer than {MAX_SEARCH_LENGTH} characters")
        for moment in (self.submitted_from, self.submitted_to, self.after):
            when = moment.submitted_at if isinstance(moment, Cursor) else moment
            if when is not None and when.tzinfo is None:
                raise ValueError("times must be timezone-aware")

    @property
    def filtered(self) -> bool:
        """True when anything but the order and page narrows the results."""
        return bool(
            self.statuses
            or self.task_name
            or self.queue
            or self.worker
            or self.submitted_from
            or self.submitted_to
            or self.search
        )


@dataclass(slots=True)
class ResultPage:
    """One page of results and the cursor of the next (None on the last page).

    ``search_limited`` is True when a search looked through only the newest
    :data:`SEARCH_WINDOW` results matching the filters, so older matches may exist.
    """

    results: list[TaskResult] = field(default_factory=list)
    next_cursor: Cursor | None = None
    search_limited: bool = False


@dataclass(frozen=True, slots=True)
class ThroughputPoint:
    """Results finished in one minute: how many succeeded and how many failed."""

    minute: dt.datetime
    succeeded: int
    failed: int


def matches(query: ResultQuery, result: TaskResult) -> bool:
    """True when ``result`` passes every filter and the search of ``query`` (not the cursor)."""
    if query.statuses and result.status not in query.statuses:
        return False
    if query.task_name and result.task_name != query.task_name:
        return False
    if query.queue and result.queue != query.queue:
        return False
    if query.worker and result.worker != query.worker:
        return False
    submitted = result.submitted_at
    if query.submitted_from and (submitted is None or submitted < query.submitted_from):
        return False
    if query.submitted_to and (submitted is None or submitted >= query.submitted_to):
        return False
    return not query.search or search_matches(query.search, result)


def search_matches(text: str, result: TaskResult) -> bool:
    """True when ``text`` is ``result``'s task id or appears in its name, arguments or error."""
    if result.task_id == text:
        return True
    needle = text.casefold()
    haystacks = (
        result.task_name or "",
        result.error or "",
        dumps(list(result.args)),
        dumps(result.kwargs),
    )
    return any(needle in haystack.casefold() for haystack in haystacks)


def after_cursor(query: ResultQuery, result: TaskResult, key: str) -> bool:
    """True when ``result`` (tie-broken by ``key``) comes after ``query.after`` in its order."""
    cursor = query.after
    if cursor is None:
        return True
    if result.submitted_at is None:
        return False
    mine = (result.submitted_at, key)
    theirs = (cursor.submitted_at, cursor.key)
    return mine < theirs if query.order == "newest" else mine > theirs


def minute_floor(moment: dt.datetime) -> dt.datetime:
    """``moment`` with seconds and smaller parts dropped."""
    return moment.replace(second=0, microsecond=0)


def empty_series(since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, list[int]]:
    """One ``[succeeded, failed]`` pair per minute from ``since`` up to ``until``."""
    series: dict[dt.datetime, list[int]] = {}
    minute = minute_floor(since)
    while minute <= until:
        series[minute] = [0, 0]
        minute += dt.timedelta(minutes=1)
    return series


def to_points(series: dict[dt.datetime, list[int]]) -> list[ThroughputPoint]:
    return [ThroughputPoint(minute, ok, bad) for minute, (ok, bad) in sorted(series.items())]


def tally(series: dict[dt.datetime, list[int]], finished: dt.datetime, status: TaskStatus) -> None:
    """Count one result that finished at ``finished`` with ``status`` into ``series``."""
    slot = series.get(minute_floor(finished))
    if slot is None:
        return
    if status is TaskStatus.SUCCESS:
        slot[0] += 1
    elif status is TaskStatus.FAILED:
        slot[1] += 1


#: Upper bounds (seconds) of the task runtime histogram's buckets; +Inf follows.
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(slots=True)
class WindowStats:
    """What the results of a recent window hold, for metrics: counts per (task name,
    status) of those submitted in it, and the runtimes of those that finished in it as
    histogram ``buckets`` (cumulative, one per :data:`RUNTIME_BUCKETS` bound then +Inf)."""

    counts: dict[tuple[str, TaskStatus], int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(RUNTIME_BUCKETS) + 1))
    runtime_sum: float = 0.0

    def add_runtime(self, runtime: float) -> None:
        """Count one finished task's runtime in every bucket it fits."""
        for index, bound in enumerate(RUNTIME_BUCKETS):
            if runtime <= bound:
                self.buckets[index] += 1
        self.buckets[-1] += 1
        self.runtime_sum += runtime
