"""The result backend interface: where task states and results are stored."""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from ..exceptions import TaskTimeoutError
from ..task import TaskResult, TaskStatus

if TYPE_CHECKING:
    import datetime as dt

    from ..config import BackendConfig
    from ..task import Success, Task
    from .query import ResultPage, ResultQuery, ThroughputPoint, WindowStats

DEFAULT_RESULT_TTL = 86_400


class BaseResultBackend(ABC):
    """Stores :class:`TaskResult` records; final results expire after ``ttl`` seconds."""

    @classmethod
    def check_url(cls, url: str) -> None:
        """Raise ``ConfigurationError`` for options or values in ``url`` this backend cannot
        use; ``BackendConfig`` calls it, so start-up checks catch them before any submit."""

    def __init__(self, config: BackendConfig | None = None) -> None:
        self.config = config
        ttl = config.ttl if config is not None else None
        self.ttl: int = DEFAULT_RESULT_TTL if ttl is None else ttl

    async def connect(self) -> None:
        """Open connections; called by ``app.start()``."""

    async def close(self) -> None:
        """Release connections; called by ``app.stop()``."""

    async def ping(self) -> bool:
        """True when the store answers; used by health checks."""
        return True

    @abstractmethod
    async def store(self, results: Sequence[TaskResult]) -> None:
        """Write ``results`` in order (a later one for the same task wins) and wake waiters."""

    def store_pending_here(self, tasks: Sequence[Task]) -> bool:
        """Record ``tasks`` as PENDING now, in the calling thread, from the tasks themselves
        (a submit). True for a backend in this process, which overrides this and so spares
        a submit building a :class:`TaskResult` per task; False, and nothing written, for
        the others, whose PENDING records the broker's ``store_and_enqueue`` writes."""
        return False

    def store_successes_here(self, worker: str, successes: Sequence[Success]) -> bool:
        """Store each :data:`Success` as the SUCCESS result of its task run by ``worker``,
        now, in the calling thread. True for a backend in this process, which overrides
        this and so spares a worker building a :class:`TaskResult` per task; False, and
        nothing written, for the others (the worker then stores TaskResults)."""
        return False

    @abstractmethod
    async def get(self, task_id: str) -> TaskResult | None:
        """The stored result of ``task_id``, or None if unknown or expired."""

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskResult | None]:
        return [await self.get(task_id) for task_id in task_ids]

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        """Wait until ``task_id`` is complete; ``TaskTimeoutError`` after ``timeout`` seconds.

        This default polls with a growing interval; backends that can be notified override it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = 0.005
        while True:
            result = await self.get(task_id)
            if result is not None and result.is_complete:
                return result
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TaskTimeoutError(task_id, timeout or 0.0)
                interval = min(interval, left)
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.25)

    @abstractmethod
    async def list(
        self,
        statuses: Collection[TaskStatus] | None = None,
        *,
        task_name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskResult]:
        """Results, newest submitted first, optionally only in ``statuses`` or of one task."""

    @abstractmethod
    async def counts(self) -> dict[TaskStatus, int]:
        """Number of stored results per status."""

    @abstractmethod
    async def delete(self, task_ids: Sequence[str]) -> int:
        """Remove results; returns how many existed."""

    # -- the query interface of dashboards (see .query) ----------------------------------------

    #: True when :meth:`query`, :meth:`status_counts` and :meth:`throughput` are implemented.
    supports_queries: bool = False

    async def query(self, query: ResultQuery) -> ResultPage:
        """One page of the results ``query`` selects, in its order, after its cursor."""
        raise NotImplementedError(f"{type(self).__name__} does not support result queries")

    async def status_counts(self, since: dt.datetime | None = None) -> dict[TaskStatus, int]:
        """Results per status; with ``since``, only those submitted at or after it."""
        raise NotImplementedError(f"{type(self).__name__} does not support result queries")

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[ThroughputPoint]:
        """Results that finished SUCCESS or FAILED per minute from ``since`` to ``until``,
        one point per minute (zeros included)."""
        raise NotImplementedError(f"{type(self).__name__} does not support result queries")

    async def window_stats(self, since: dt.datetime) -> WindowStats:
        """Counts per task name and status of the results submitted at or after ``since``,
        and the runtime histogram of those finished since then. This default reads the
        window's submissions through :meth:`query`, page by page (so its histogram leaves
        out tasks submitted before the window); a backend that can count in its
        store overrides it."""
        from .query import MAX_PAGE_SIZE, ResultQuery, WindowStats

        stats = WindowStats()
        query = ResultQuery(submitted_from=since, limit=MAX_PAGE_SIZE, order="newest")
        while True:
            page = await self.query(query)
            for result in page.results:
                key = (result.task_name or "", result.status)
                stats.counts[key] = stats.counts.get(key, 0) + 1
                finished = result.finished_at
                if result.runtime is not None and finished is not None and finished >= since:
                    stats.add_runtime(result.runtime)
            if page.next_cursor is None:
                return stats
            query = dataclasses.replace(query, after=page.next_cursor)

    async def retry_links(self, task_id: str) -> tuple[str | None, builtins.list[str]]:
        """The task ``task_id`` was resubmitted from, and those resubmitted from it (a
        backend that records no such links answers ``(None, [])``)."""
        return None, []

    async def link_retry(self, task_id: str, retry_of: str) -> None:
        """Record that ``task_id`` was resubmitted from ``retry_of`` (if the backend can)."""

    def describe(self) -> str:
        """Where results live, password masked, for banners and logs."""
        from ..plugins import mask_url

        return mask_url(self.config.url) if self.config else "memory://"
