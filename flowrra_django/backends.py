"""The ``django://`` result backend: task results in the ``TaskResult`` table.

A worker hands its results over in batches (one flush of many tasks); each batch is one
bulk upsert, so the ORM costs one statement per batch, not per task. Results are kept
until ``manage.py flowrra_cleanup`` deletes them (``CLEANUP_AFTER_DAYS``); the core TTL does
not apply.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Count, Subquery

from flowrra.backends import query as q
from flowrra.backends.base import BaseResultBackend
from flowrra.serialization import dumps
from flowrra.task import FINAL_STATES, TaskResult, TaskStatus

from . import queries, sql
from .database_thread import UsesDatabase, database_thread
from .models import TaskResult as TaskResultRow

if TYPE_CHECKING:
    from django.db.models import QuerySet

#: Columns a later write of the same task replaces (``retry_of`` is set by the admin only).
UPDATE_FIELDS = [
    "task_name",
    "status",
    "args",
    "kwargs",
    "result",
    "error",
    "error_type",
    "traceback",
    "queue",
    "priority",
    "retries",
    "worker",
    "submitted_at",
    "started_at",
    "finished_at",
    "runtime",
]
_WRITE_FIELDS = _READ_FIELDS = ["task_id", *UPDATE_FIELDS]


def _later_final_run(old: Callable[[str], str], new: Callable[[str], str]) -> str:
    """The stored result is final, from another worker's run that started after the run
    writing: the write comes from a worker whose lease ran out while it ran the task (a host
    cut off, its statement delivered once healed) and must not replace the result of the
    worker that took the task over. Clocks that disagree by more than the lease only keep an
    earlier final result in place of a later one; a result is never held back from a row
    that is not final."""
    finals = ", ".join(f"'{status.value}'" for status in sorted(FINAL_STATES))
    return (
        f"{old('status')} IN ({finals}) AND {old('worker')} <> '' AND {new('worker')} <> '' "
        f"AND {old('worker')} <> {new('worker')} AND {old('started_at')} IS NOT NULL "
        f"AND {new('started_at')} IS NOT NULL AND {old('started_at')} > {new('started_at')}"
    )


#: A write of a result keeps the stored one in place when :func:`_later_final_run`.
KEEP_LATER_FINAL_RUN = sql.Keep(_later_final_run, first="started_at")


def _row_values(result: TaskResult, when: Callable[[dt.datetime | None], Any]) -> tuple[Any, ...]:
    """The values of ``_WRITE_FIELDS`` storing ``result``."""
    return (
        result.task_id,
        result.task_name or "",
        result.status.value,
        dumps(list(result.args)),
        dumps(result.kwargs),
        None if result.result is None else dumps(result.result),
        result.error or "",
        result.error_type or "",
        result.traceback or "",
        result.queue,
        result.priority,
        result.retries,
        result.worker or "",
        when(result.submitted_at),
        when(result.started_at),
        when(result.finished_at),
        result.runtime,
    )


def from_values(values: dict[str, Any]) -> TaskResult:
    """The core result for a row read with ``.values(*_READ_FIELDS)``."""
    return TaskResult(
        task_id=values["task_id"],
        status=TaskStatus(values["status"]),
        task_name=values["task_name"] or None,
        result=values["result"],
        error=values["error"] or None,
        submitted_at=values["submitted_at"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        retries=values["retries"],
        args=tuple(values["args"] or ()),
        kwargs=dict(values["kwargs"] or {}),
        error_type=values["error_type"] or None,
        traceback=values["traceback"] or None,
        queue=values["queue"],
        priority=values["priority"],
        worker=values["worker"] or None,
    )


class DatabaseBackend(UsesDatabase, BaseResultBackend):
    """Results in the database that the URL names (``django://`` is ``default``)."""

    supports_queries = True

    def _rows(self) -> QuerySet[TaskResultRow]:
        return TaskResultRow.objects.using(self.alias)

    async def store(self, results: Sequence[TaskResult]) -> None:
        await database_thread.run(self.write, results)

    def write(self, results: Sequence[TaskResult]) -> None:
        """Store ``results`` (in the database thread); a later result of a task replaces an
        earlier one, in one batch as across batches, except a late write of a run another
        worker took over (:func:`_later_final_run`)."""
        insert = self.result_insert(results)
        connection = connections[self.alias]
        sql.insert(
            connection,
            insert.model,
            insert.fields,
            insert.rows,
            replace_on=insert.replace_on,
            keep=insert.keep,
        )

    def result_insert(self, results: Sequence[TaskResult]) -> sql.Insert:
        """What :meth:`write` inserts, for a caller that inserts it with other rows."""
        latest = {result.task_id: result for result in results}
        when = sql.datetime_adapter(connections[self.alias])
        rows = [_row_values(result, when) for result in latest.values()]
        return sql.Insert(
            TaskResultRow, _WRITE_FIELDS, rows, replace_on="task_id", keep=KEEP_LATER_FINAL_RUN
        )

    async def get(self, task_id: str) -> TaskResult | None:
        found = await self.get_many([task_id])
        return found[0]

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskResult | None]:
        wanted = list(task_ids)
        rows = await database_thread.run(self._read, wanted)
        by_id = {row["task_id"]: from_values(row) for row in rows}
        return [by_id.get(task_id) for task_id in wanted]

    def _read(self, task_ids: list[str]) -> list[dict[str, Any]]:
        return list(self._rows().filter(task_id__in=task_ids).values(*_READ_FIELDS))

    async def list(
        self,
        statuses: Collection[TaskStatus] | None = None,
        *,
        task_name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[TaskResult]:
        rows = self._rows().order_by("-submitted_at", "-id")
        if statuses is not None:
            rows = rows.filter(status__in=[TaskStatus(s).value for s in statuses])
        if task_name is not None:
            rows = rows.filter(task_name=task_name)
        page = rows.values(*_READ_FIELDS)[offset : offset + limit]
        return [from_values(row) for row in await database_thread.run(list, page)]

    async def counts(self) -> dict[TaskStatus, int]:
        query = self._rows().values("status").annotate(n=Count("id")).order_by()
        counts = dict.fromkeys(TaskStatus, 0)
        for row in await database_thread.run(list, query):
            counts[TaskStatus(row["status"])] = row["n"]
        return counts

    async def delete(self, task_ids: Sequence[str]) -> int:
        query = self._rows().filter(task_id__in=list(task_ids))
        _, by_model = await database_thread.run(query.delete)
        return by_model.get(TaskResultRow._meta.label, 0)

    async def query(self, query: q.ResultQuery) -> q.ResultPage:
        return await database_thread.run(self._query, query)

    def _query(self, query: q.ResultQuery) -> q.ResultPage:
        ids, window_end, limited = queries.page_ids(self._rows(), query)
        found = self._rows().filter(id__in=ids).values("id", *_READ_FIELDS)
        by_id = {row["id"]: row for row in found}
        rows = [by_id[pk] for pk in ids if pk in by_id]
        page = rows[: query.limit]
        cursor = window_end
        if len(rows) > query.limit:
            last = page[-1]
            cursor = q.Cursor(last["submitted_at"], str(last["id"]))
        return q.ResultPage([from_values(row) for row in page], cursor, limited)

    async def status_counts(self, since: dt.datetime | None = None) -> dict[TaskStatus, int]:
        return await database_thread.run(queries.status_counts, self._rows(), since)

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[q.ThroughputPoint]:
        return await database_thread.run(queries.throughput, self._rows(), since, until)

    async def window_stats(self, since: dt.datetime) -> q.WindowStats:
        return await database_thread.run(queries.window_stats, self._rows(), since)

    async def retry_links(self, task_id: str) -> tuple[str | None, builtins.list[str]]:
        return await database_thread.run(self._retry_links, task_id)

    def _retry_links(self, task_id: str) -> tuple[str | None, builtins.list[str]]:
        row = self._rows().filter(task_id=task_id).values("id", "retry_of__task_id").first()
        if row is None:
            return None, []
        later = self._rows().filter(retry_of_id=row["id"]).order_by("submitted_at", "id")
        return row["retry_of__task_id"], list(later.values_list("task_id", flat=True)[:50])

    async def link_retry(self, task_id: str, retry_of: str) -> None:
        original = self._rows().filter(task_id=retry_of).values("id")[:1]
        update = self._rows().filter(task_id=task_id).update
        await database_thread.run(lambda: update(retry_of_id=Subquery(original)))
