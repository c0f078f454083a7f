"""The Redis result backend on a Redis Cluster (``redis+cluster://``): with ``shards=N``, each
result lives on the shard of its task's queue, beside that queue's messages, one
:class:`~.redis.RedisBackend` per hash tag (the broker's tags, see
:mod:`flowrra.brokers.redis_shards`). So a worker stores a batch of results and acknowledges
its deliveries in one script on one shard, and no node holds every result.

Reads by id ask every shard at once (one round trip's wait, N commands); ``wait_for_result``
registers on every shard and takes the first final result. ``list`` and ``counts`` merge the
shards. The dashboard query interface (``supports_queries``) is one shard's only: with
several shards it is off, and dashboards fall back to ``list``.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from ..exceptions import TaskTimeoutError
from ..redis_cluster import Sharded
from ..task import TaskResult, TaskStatus
from .base import BaseResultBackend
from .redis import RedisBackend

if TYPE_CHECKING:
    import datetime as dt

    from ..config import BackendConfig
    from .query import ResultPage, ResultQuery, ThroughputPoint


class ClusterBackend(Sharded[RedisBackend], BaseResultBackend):
    """Results on a Redis Cluster, spread over the ``shards`` of the URL by queue (see the
    module's description); with one shard, a :class:`~.redis.RedisBackend` under one tag."""

    def __init__(self, config: BackendConfig | None = None) -> None:
        super().__init__(config)
        self.spread(RedisBackend(config), lambda prefix: RedisBackend(config, prefix=prefix))
        self.supports_queries = len(self.shards) == 1

    @classmethod
    def check_url(cls, url: str) -> None:
        RedisBackend.check_url(url)

    async def store(self, results: Sequence[TaskResult]) -> None:
        for i, mine in self.by_shard(results).items():
            await self.shards[i].store(mine)

    async def get(self, task_id: str) -> TaskResult | None:
        return (await self.get_many([task_id]))[0]

    async def get_many(self, task_ids: Sequence[str]) -> builtins.list[TaskResult | None]:
        if len(self.shards) == 1:
            return await self.shards[0].get_many(task_ids)
        found = await asyncio.gather(*(shard.get_many(task_ids) for shard in self.shards))
        return [
            next((r for r in column if r is not None), None) for column in zip(*found, strict=True)
        ]

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        if len(self.shards) == 1:
            return await self.shards[0].wait(task_id, timeout)
        waits = [asyncio.ensure_future(shard.wait(task_id, timeout)) for shard in self.shards]
        try:
            for first in asyncio.as_completed(waits):
                try:
                    return await first
                except TaskTimeoutError:
                    continue
            raise TaskTimeoutError(task_id, timeout or 0.0)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def list(
        self,
        statuses: Collection[TaskStatus] | None = None,
        *,
        task_name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[TaskResult]:
        """Newest submitted first over every shard."""
        pages = [
            await shard.list(statuses, task_name=task_name, limit=offset + limit)
            for shard in self.shards
        ]
        merged = sorted(
            (result for page in pages for result in page),
            key=lambda result: result.submitted_at.timestamp() if result.submitted_at else 0.0,
            reverse=True,
        )
        return merged[offset : offset + limit]

    async def counts(self) -> dict[TaskStatus, int]:
        total = dict.fromkeys(TaskStatus, 0)
        for shard in self.shards:
            for status, n in (await shard.counts()).items():
                total[status] += n
        return total

    async def delete(self, task_ids: Sequence[str]) -> int:
        return sum([await shard.delete(task_ids) for shard in self.shards])

    async def query(self, query: ResultQuery) -> ResultPage:
        return await self._one().query(query)

    async def status_counts(self, since: dt.datetime | None = None) -> dict[TaskStatus, int]:
        return await self._one().status_counts(since)

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[ThroughputPoint]:
        return await self._one().throughput(since, until)

    def _one(self) -> RedisBackend:
        if len(self.shards) > 1:
            raise NotImplementedError("result queries need one shard (supports_queries is off)")
        return self.shards[0]
