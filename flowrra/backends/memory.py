"""In-process result store with TTL expiry and wake-ups for waiters."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections import deque
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from ..exceptions import TaskTimeoutError
from ..task import FINAL_STATES, TaskResult, TaskStatus
from . import query as q
from .base import BaseResultBackend

if TYPE_CHECKING:
    import datetime as dt

    from ..config import BackendConfig


class MemoryBackend(BaseResultBackend):
    """A dict of results. Final results expire ``ttl`` seconds after they are stored."""

    supports_queries = True

    def __init__(self, config: BackendConfig | None = None) -> None:
        super().__init__(config)
        self._results: dict[str, TaskResult] = {}
        self._expires: dict[str, float] = {}
        self._expiry_order: deque[tuple[float, str]] = deque()
        self._waiters: dict[str, list[asyncio.Future[TaskResult]]] = {}

    async def store(self, results: Sequence[TaskResult]) -> None:
        if len(results) == 1 and results[0].status is TaskStatus.PENDING:
            self._results[results[0].task_id] = results[0]  # the submit path, kept short
            return
        stored = self._results
        waiters = self._waiters
        finished: list[TaskResult] = []
        for result in results:
            stored[result.task_id] = result
            if result.status in FINAL_STATES:
                finished.append(result)
        if not finished:
            return
        expires_at = time.monotonic() + self.ttl
        for result in finished:
            self._expires[result.task_id] = expires_at
            self._expiry_order.append((expires_at, result.task_id))
            futures = waiters.pop(result.task_id, None) if waiters else None
            if futures:
                for future in futures:
                    if not future.done():
                        future.set_result(result)
        self._purge_expired()

    def _purge_expired(self) -> None:
        order = self._expiry_order
        if not order or order[0][0] > time.monotonic():
            return
        now = time.monotonic()
        while order and order[0][0] <= now:
            _, task_id = order.popleft()
            # a task stored again (redelivered) carries a later expiry: keep it
            if self._expires.get(task_id, now + 1) <= now:
                del self._expires[task_id]
                self._results.pop(task_id, None)

    async def get(self, task_id: str) -> TaskResult | None:
        self._purge_expired()
        return self._results.get(task_id)

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        result = self._results.get(task_id)
        if result is not None and result.status in FINAL_STATES:
            return result
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
        wanted = set(statuses) if statuses is not None else None
        matching = [
            result
            for result in reversed(self._results.values())
            if (wanted is None or result.status in wanted)
            and (task_name is None or result.task_name == task_name)
        ]
        return matching[offset : offset + limit]

    async def counts(self) -> dict[TaskStatus, int]:
        self._purge_expired()
        counts = dict.fromkeys(TaskStatus, 0)
        for result in self._results.values():
            counts[result.status] += 1
        return counts

    async def delete(self, task_ids: Sequence[str]) -> int:
        removed = 0
        for task_id in task_ids:
            if self._results.pop(task_id, None) is not None:
                removed += 1
            self._expires.pop(task_id, None)
        return removed

    async def query(self, query: q.ResultQuery) -> q.ResultPage:
        self._purge_expired()
        rows = [
            result
            for result in self._results.values()
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
        for result in self._results.values():
            when = result.submitted_at
            if since is None or (when is not None and when >= since):
                counts[result.status] += 1
        return counts

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[q.ThroughputPoint]:
        self._purge_expired()
        series = q.empty_series(since, until)
        for result in self._results.values():
            if result.finished_at is not None and since <= result.finished_at <= until:
                q.tally(series, result.finished_at, result.status)
        return q.to_points(series)
