"""The result query interface of the ``django://`` backend, as indexed ORM queries.

Pages are keyset pages over ``(submitted_at, id)``: every filter the indexes hold (status,
task name, queue, worker, time range) narrows an index range scan that stops after one
page, however deep the page. A search first looks up an exact task id (the unique index);
otherwise it reads the newest :data:`~flowrra.backends.query.SEARCH_WINDOW` rows matching
the filters, from the cursor on, and stops at the first page of matches, so a search
costs at most that many rows, never the whole table; the page's cursor then continues it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMinute

from flowrra.backends import query as q
from flowrra.task import TaskStatus

from .models import TaskResult as TaskResultRow


def _filtered(rows: QuerySet[TaskResultRow], query: q.ResultQuery) -> QuerySet[TaskResultRow]:
    rows = rows.filter(submitted_at__isnull=False)
    if query.statuses:
        rows = rows.filter(status__in=sorted(status.value for status in query.statuses))
    if query.task_name:
        rows = rows.filter(task_name=query.task_name)
    if query.queue:
        rows = rows.filter(queue=query.queue)
    if query.worker:
        rows = rows.filter(worker=query.worker)
    if query.submitted_from:
        rows = rows.filter(submitted_at__gte=query.submitted_from)
    if query.submitted_to:
        rows = rows.filter(submitted_at__lt=query.submitted_to)
    cursor = query.after
    if cursor is not None:
        try:
            key = int(cursor.key)
        except ValueError:
            raise ValueError("invalid page cursor") from None
        when = cursor.submitted_at
        # the plain bound lets the index scan start at the cursor; the OR breaks ties
        if query.order == "newest":
            rows = rows.filter(submitted_at__lte=when).filter(
                Q(submitted_at__lt=when) | Q(submitted_at=when, id__lt=key)
            )
        else:
            rows = rows.filter(submitted_at__gte=when).filter(
                Q(submitted_at__gt=when) | Q(submitted_at=when, id__gt=key)
            )
    order = ("-submitted_at", "-id") if query.order == "newest" else ("submitted_at", "id")
    return rows.order_by(*order)


def page_ids(rows: QuerySet[TaskResultRow], query: q.ResultQuery) -> tuple[list[int], Any, bool]:
    """Ids of the page's rows (one more than the limit when there is a next page), the
    cursor of the end of a search's window when it was reached, and whether it was."""
    ordered = _filtered(rows, query)
    want = query.limit + 1
    if not query.search:
        return list(ordered.values_list("id", flat=True)[:want]), None, False
    exact = list(ordered.filter(task_id=query.search).values_list("id", flat=True)[:1])
    if exact:
        return exact, None, False
    ids = _search(ordered, query.search, want, newest_first=query.order == "newest")
    if len(ids) >= want:
        return ids, None, False
    edge = list(
        ordered.values_list("submitted_at", "id")[q.SEARCH_WINDOW - 1 : q.SEARCH_WINDOW + 1]
    )
    if len(edge) < 2 or edge[0][0] is None:
        return ids, None, False
    return ids, q.Cursor(edge[0][0], str(edge[0][1])), True


def _search(
    ordered: QuerySet[TaskResultRow], text: str, want: int, *, newest_first: bool
) -> list[int]:
    """Ids of up to ``want`` rows among the first ``SEARCH_WINDOW`` of ``ordered`` (newest
    or oldest first) whose name, arguments or error contain ``text`` (case-insensitive), in
    the same order."""
    window = ordered.values("id", "submitted_at", "task_name", "args", "kwargs", "error")
    inner, params = window[: q.SEARCH_WINDOW].query.sql_with_params()
    connection = connections[ordered.db]
    quote = connection.ops.quote_name
    # Every column as case-insensitive text: MySQL compares JSON (and binary collations)
    # case-sensitively, so there both sides are lowered.
    if connection.vendor == "postgresql":
        like, text_of, plain = "ILIKE", "{}::text", "{}"
    elif connection.vendor == "mysql":
        like, text_of, plain = "LIKE", "LOWER(CAST({} AS CHAR))", "LOWER({})"
        text = text.lower()
    else:
        like, text_of, plain = "LIKE", "{}", "{}"
    # '!' escapes: a backslash is itself an escape inside MySQL's string literals.
    needle = "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
    column = "w.{}".format
    columns = [
        plain.format(column(quote("task_name"))),
        plain.format(column(quote("error"))),
        text_of.format(column(quote("args"))),
        text_of.format(column(quote("kwargs"))),
    ]
    condition = " OR ".join(f"{expression} {like} %s ESCAPE '!'" for expression in columns)
    direction = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT w.{quote('id')} FROM ({inner}) w WHERE {condition} "
        f"ORDER BY w.{quote('submitted_at')} {direction}, w.{quote('id')} {direction} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *([needle] * len(columns)), want])
        return [row[0] for row in cursor.fetchall()]


def status_counts(
    rows: QuerySet[TaskResultRow], since: dt.datetime | None
) -> dict[TaskStatus, int]:
    """Rows per status (submitted at or after ``since``), one grouped index scan."""
    if since is not None:
        rows = rows.filter(submitted_at__gte=since)
    counts = dict.fromkeys(TaskStatus, 0)
    for row in rows.values("status").annotate(n=Count("id")).order_by():
        counts[TaskStatus(row["status"])] = row["n"]
    return counts


def throughput(
    rows: QuerySet[TaskResultRow], since: dt.datetime, until: dt.datetime
) -> list[q.ThroughputPoint]:
    """SUCCESS and FAILED rows per minute of ``finished_at`` (its index) in the range."""
    finished = rows.filter(
        finished_at__gte=since,
        finished_at__lte=until,
        status__in=[TaskStatus.SUCCESS.value, TaskStatus.FAILED.value],
    )
    grouped = (
        finished.annotate(minute=TruncMinute("finished_at", tzinfo=dt.UTC))
        .values("minute", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    series = q.empty_series(since, until)
    for row in grouped:
        slot = series.get(q.minute_floor(row["minute"].astimezone(dt.UTC)))
        if slot is not None:
            slot[0 if row["status"] == TaskStatus.SUCCESS.value else 1] += row["n"]
    return q.to_points(series)


def window_stats(rows: QuerySet[TaskResultRow], since: dt.datetime) -> q.WindowStats:
    """Counts per (task name, status) of the rows submitted since ``since`` (the
    submission index), and one aggregate of the runtimes of those finished since then
    (the finish index): two range scans of the window, never the whole table."""
    stats = q.WindowStats()
    grouped = (
        rows.filter(submitted_at__gte=since)
        .values("task_name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in grouped:
        stats.counts[(row["task_name"], TaskStatus(row["status"]))] = row["n"]
    bounds = {f"le{index}": bound for index, bound in enumerate(q.RUNTIME_BUCKETS)}
    finished = rows.filter(finished_at__gte=since, runtime__isnull=False).aggregate(
        **{name: Count("id", filter=Q(runtime__lte=bound)) for name, bound in bounds.items()},
        total=Count("id"),
        runtime_sum=Sum("runtime"),
    )
    stats.buckets = [finished[name] for name in bounds] + [finished["total"]]
    stats.runtime_sum = finished["runtime_sum"] or 0.0
    return stats
