"""In-process result store with TTL expiry and wake-ups for waiters.

Results are kept as compact records (:data:`Record`), not as :class:`TaskResult` objects: a
record of plain values is a tuple that the garbage collector stops tracking, so a process
keeping hundreds of thousands of results spends neither memory on per-object overhead nor
collector time walking them. A :class:`TaskResult` is built on demand when read.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import TaskTimeoutError
from ..task import FINAL_STATES, TaskResult, TaskStatus
from . import query as q
from .base import BaseResultBackend

if TYPE_CHECKING:
    import datetime as dt

    from ..config import BackendConfig
    from ..task import Success, Task

#: One stored result: (status value, shape, result, submitted_at, started_at, finished_at,
#: args, kwargs or None when empty, (error, error_type, traceback) or None, expiry on the
#: monotonic clock or None). The shape, (task name, queue, priority, worker, retries), is one
#: tuple shared by every record that has it.
Record = tuple[Any, ...]
_STATUS, _SHAPE, _SUBMITTED, _FINISHED, _EXPIRES = 0, 1, 3, 5, 9
_STATUSES = {status.value: status for status in TaskStatus}
_VALUES = {status: status.value for status in TaskStatus}
_PENDING = TaskStatus.PENDING.value
_SUCCESS = TaskStatus.SUCCESS.value
_FINAL_VALUES = frozenset(status.value for status in FINAL_STATES)


def _result(task_id: str, record: Record) -> TaskResult:
    status, shape, value, submitted, started, finished, args, kwargs, failure, _ = record
    name, queue, priority, worker, retries = shape
    error, error_type, traceback = failure or (None, None, None)
    return TaskResult(
        task_id,
        _STATUSES[status],
        name,
        value,
        error,
        submitted,
        started,
        finished,
        retries,
        args,
        {} if kwargs is None else kwargs,
        error_type,
        traceback,
        queue,
        priority,
        worker,
    )


class MemoryBackend(BaseResultBackend):
    """A dict of compact records. Final results expire ``ttl`` seconds after they are stored."""

    supports_queries = True

    def __init__(self, config: BackendConfig | None = None) -> None:
        super().__init__(config)
        self._records: dict[str, Record] = {}
        #: (expiry, ids of the final results one store wrote), oldest first.
        self._expiry_order: deque[tuple[float, list[str]]] = deque()
        self._waiters: dict[str, list[asyncio.Future[TaskResult]]] = {}
        self._shapes: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def _record(self, result: TaskResult, expires: float | None) -> Record:
        failure = None
        if not (result.error is None and result.error_type is None and result.traceback is None):
            failure = (result.error, result.error_type, result.traceback)
        shape = (result.task_name, result.queue, result.priority, result.worker, result.retries)
        return (
            _VALUES[result.status],
            self._shapes.setdefault(shape, shape),
            result.result,
            result.submitted_at,
            result.started_at,
            result.finished_at,
            result.args,
            result.kwargs or None,
            failure,
            expires,
        )

    def _task_record(
        self,
        task: Task,
        status: str,
        worker: str | None,
        value: Any,
        started: dt.datetime | None,
        finished: dt.datetime | None,
        expires: float | None,
    ) -> Record:
        """The record of ``task`` in ``status``, built from the task without a
        :class:`TaskResult` (no error: PENDING, or a success)."""
        shape = (task.name, task.queue, task.priority, worker, task.current_retry)
        return (
            status,
            self._shapes.setdefault(shape, shape),
            value,
            task.submitted_at,
            started,
            finished,
            task.args,
            task.kwargs or None,
            None,
            expires,
        )

    def store_pending_here(self, tasks: Sequence[Task]) -> bool:
        if type(self).store is not MemoryBackend.store:
            return False  # a subclass that stores its own way sees PENDING records too
        records, record = self._records, self._task_record
        for task in tasks:
            records[task.id] = record(task, _PENDING, None, None, None, None, None)
        return True

    def store_successes_here(self, worker: str, successes: Sequence[Success]) -> bool:
        if type(self).store is not MemoryBackend.store:
            return False  # a subclass that stores its own way sees every result
        records, waiters, make = self._records, self._waiters, self._task_record
        expires_at = time.monotonic() + self.ttl
        finished: list[str] = []
        for task, started, value, ended in successes:
            task_id = task.id
            record = records[task_id] = make(
                task, _SUCCESS, worker, value, started, ended, expires_at
            )
            finished.append(task_id)
            if waiters and task_id in waiters:
                self._wake(task_id, _result(task_id, record))
        self._expired_at(expires_at, finished)
        return True

    async def store(self, results: Sequence[TaskResult]) -> None:
        records = self._records
        waiters = self._waiters
        expires_at = time.monotonic() + self.ttl
        finished: list[str] = []
        for result in results:
            task_id = result.task_id
            if result.status in FINAL_STATES:
                records[task_id] = self._record(result, expires_at)
                finished.append(task_id)
                if waiters and task_id in waiters:
                    self._wake(task_id, result)
            else:
                records[task_id] = self._record(result, None)
        self._expired_at(expires_at, finished)

    def _wake(self, task_id: str, result: TaskResult) -> None:
        """Hand the final ``result`` to whoever waits for it."""
        for future in self._waiters.pop(task_id):
            if not future.done():
                future.set_result(result)

    def _expired_at(self, expires_at: float, task_ids: list[str]) -> None:
        """``task_ids`` were just stored final, to expire at ``expires_at``."""
        if task_ids:
            self._expiry_order.append((expires_at, task_ids))
            self._purge_expired()

    def _purge_expired(self) -> None:
        order = self._expiry_order
        if not order or order[0][0] > time.monotonic():
            return
        now = time.monotonic()
        records = self._records
        while order and order[0][0] <= now:
            for task_id in order.popleft()[1]:
                # a task stored again since (redelivered) carries a later expiry, or none
                record = records.get(task_id)
                expires = None if record is None else record[_EXPIRES]
                if expires is not None and expires <= now:
                    del records[task_id]

    def _results(self) -> Iterator[TaskResult]:
        """Every stored result, oldest stored first."""
        for task_id, record in self._records.items():
            yield _result(task_id, record)

    async def get(self, task_id: str) -> TaskResult | None:
        record = self._records.get(task_id)
        if record is None:
            return None
        expires = record[_EXPIRES]
        if expires is not None and expires <= time.monotonic():
            self._purge_expired()
            return None
        return _result(task_id, record)

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        record = self._records.get(task_id)
        if record is not None and record[_STATUS] in _FINAL_VALUES:
            return _result(task_id, record)
        future: asyncio.Future[TaskResult] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(task_id, []).append(future)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise TaskTimeoutError(task_id, timeout or 0.0) from None
        finally:
            futures = self._waiters.get(task_id)
            if futures and future in futures:
                futures.remove(future)
                if not futures:
                    del self._waiters[task_id]

    async def list(
        self,
        statuses: Collection[TaskStatus] | None = None,
        *,
        task_name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskResult]:
        self._purge_expired()
        wanted = {TaskStatus(s).value for s in statuses} if statuses is not None else None
        matching = [
            task_id
            for task_id, record in reversed(self._records.items())
            if (wanted is None or record[_STATUS] in wanted)
            and (task_name is None or record[_SHAPE][0] == task_name)
        ]
        return [_result(i, self._records[i]) for i in matching[offset : offset + limit]]

    async def counts(self) -> dict[TaskStatus, int]:
        self._purge_expired()
        counts = dict.fromkeys(TaskStatus, 0)
        for record in self._records.values():
            counts[_STATUSES[record[_STATUS]]] += 1
        return counts

    async def delete(self, task_ids: Sequence[str]) -> int:
        removed = 0
        for task_id in task_ids:
            if self._records.pop(task_id, None) is not None:
                removed += 1
        return removed

    async def query(self, query: q.ResultQuery) -> q.ResultPage:
        self._purge_expired()
        rows = [
            result
            for result in self._results()
            if result.submitted_at is not None
            and q.matches(query, result)
            and q.after_cursor(query, result, result.task_id)
        ]
        rows.sort(key=lambda r: (r.submitted_at, r.task_id), reverse=query.order == "newest")
        page = rows[: query.limit]
        more = len(rows) > query.limit
        last = page[-1] if page else None
        cursor = None
        if more and last is not None and last.submitted_at is not None:
            cursor = q.Cursor(last.submitted_at, last.task_id)
        return q.ResultPage(page, cursor)

    async def status_counts(self, since: dt.datetime | None = None) -> dict[TaskStatus, int]:
        self._purge_expired()
        counts = dict.fromkeys(TaskStatus, 0)
        for record in self._records.values():
            when = record[_SUBMITTED]
            if since is None or (when is not None and when >= since):
                counts[_STATUSES[record[_STATUS]]] += 1
        return counts

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[q.ThroughputPoint]:
        self._purge_expired()
        series = q.empty_series(since, until)
        for record in self._records.values():
            finished = record[_FINISHED]
            if finished is not None and since <= finished <= until:
                q.tally(series, finished, _STATUSES[record[_STATUS]])
        return q.to_points(series)
