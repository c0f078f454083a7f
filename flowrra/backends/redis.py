"""Redis result backend: JSON results with a TTL, small indexes for dashboards, and
notifications so that ``wait_for_result`` in another process needs no polling.

Keys under the prefix ``P`` (``flowrra`` by default, ``?key_prefix=`` in the URL):

``P:result:<id>``     the result as JSON (``TaskResult.to_dict`` without the keys whose value
                      is null or the default; a PENDING one without task id and status),
                      expiring after the TTL
``P:status:<status>`` zset of task ids in that status, scored by submission time
``P:name:<name>``     zset of task ids of one task name, scored by submission time; the
                      names are in ``P:names``. Entries older than the TTL are pruned when
                      final results are stored (at most once a second) and before counting
                      or listing.
``P:pruned``          set for a second after a store pruned the indexes
``P:waiters:<id>``    tokens of processes waiting for the result; ``P:notify:<token>``
                      receives the final result for them (see :mod:`.redis_waiters`)
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from ..exceptions import ConfigurationError
from ..lua import read_scripts
from ..redis_connection import RedisComponent, RedisConnection
from ..redis_url import RedisTarget, parse_redis_url
from ..serialization import dumps, encode_plain, is_plain_scalar, loads
from ..task import TaskResult, TaskStatus
from . import redis_query
from .base import BaseResultBackend
from .redis_waiters import ResultWaiters

if TYPE_CHECKING:
    import datetime as dt

    from ..config import BackendConfig
    from .query import ResultPage, ResultQuery, ThroughputPoint

#: Most results one store script writes (Lua's ``unpack`` is bounded).
STORE_BATCH = 1000

#: The backend's Lua scripts (``lua/*.lua``: each file lists its ARGV and reply), by name.
SCRIPTS = read_scripts(__package__, ("store", "counts", "delete", "register"))


class Fence(NamedTuple):
    """A worker's write of results through a Redis broker on the backend's server (and on a
    cluster, under the same hash tag): the consumer that held their messages and the epoch
    it writes under. The store script refuses a result of a write whose epoch is no longer
    the consumer's (sent before its lease ran out, delivered late) in place of the final
    result of another worker's run that started later; ``acks`` are the delivery tags it
    then deletes from the consumer's held hash."""

    prefix: str  # the broker's key prefix
    consumer: str
    epoch: int
    acks: Sequence[Any] = ()


class RedisBackend(RedisComponent, BaseResultBackend):
    """Results in Redis (``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``,
    ``redis+cluster://``),
    kept ``ttl`` seconds after their last update (``BackendConfig.ttl``, one day by default)."""

    supports_queries = True

    def __init__(self, config: BackendConfig | None = None, *, prefix: str | None = None) -> None:
        """``prefix`` overrides the key prefix of the URL (a shard of a cluster backend)."""
        if config is None:
            raise ConfigurationError(
                "RedisBackend needs a BackendConfig, e.g. "
                "BackendConfig(url='redis://localhost:6379/0')"
            )
        super().__init__(config)
        self.target = parse_redis_url(config.url)
        self.prefix = prefix or self.target.key_prefix
        self._waiters: ResultWaiters | None = None

    @classmethod
    def check_url(cls, url: str) -> None:
        parse_redis_url(url)

    async def connect(self) -> None:
        if self._redis is None:
            assert self.config is not None
            self._redis = RedisConnection(
                self.target,
                self.config,
                SCRIPTS,
                self.prefix,
            )
            self._waiters = ResultWaiters(self._redis, self.prefix, self.ttl, self.get_many)

    async def close(self) -> None:
        if self._waiters is not None:
            await self._waiters.close()
            self._waiters = None
        await self._close_redis()

    async def _script(self, name: str, *args: Any) -> Any:
        return await self.redis.script(name, self.prefix, self.ttl, *args)

    async def store(self, results: Sequence[TaskResult], *, fence: Fence | None = None) -> None:
        """Write ``results``; with ``fence``, a worker's write through the Redis broker,
        which acknowledges its deliveries in the same step (see :class:`Fence`)."""
        if not results and not (fence and fence.acks):
            return
        early = fence and fence._replace(acks=())  # the acknowledgement goes with the last
        for start in range(0, max(len(results), 1), STORE_BATCH):
            chunk = results[start : start + STORE_BATCH]
            last = start + STORE_BATCH >= len(results)
            await self.redis.script("store", *self.store_arguments(chunk, fence if last else early))

    def store_arguments(
        self, results: Sequence[TaskResult], fence: Fence | None = None
    ) -> list[Any]:
        """The ARGV of the store script for at most ``STORE_BATCH`` results (the Redis broker
        runs it in its own transactions too)."""
        args: list[Any] = [self.prefix, self.ttl, len(results)]
        for result in results:
            submitted = result.submitted_at
            args += (
                result.task_id,
                result.status.value,
                submitted.timestamp() if submitted is not None else 0,
                result.task_name or "",
                encode_plain(partial(_document, result))
                if _plain(result)
                else dumps(_document(result, native_datetimes=False)),
            )
        if fence is not None:
            args += (fence.prefix, fence.consumer, fence.epoch, *fence.acks)
        return args

    def shares_server_with(self, target: RedisTarget) -> bool:
        """True when ``target`` (a broker's URL) reaches the same server and db."""
        mine = self.target
        return (mine.connection, mine.sentinels, mine.service_name, mine.cluster_nodes) == (
            target.connection,
            target.sentinels,
            target.service_name,
            target.cluster_nodes,
        )

    async def get(self, task_id: str) -> TaskResult | None:
        raw = await self.redis.runner.execute("GET", self._key("result", task_id))
        return None if raw is None else _read(task_id, raw)

    async def get_many(self, task_ids: Sequence[str]) -> list[TaskResult | None]:
        if not task_ids:
            return []
        raw = await self.redis.runner.execute("MGET", *[self._key("result", i) for i in task_ids])
        return [
            None if item is None else _read(i, item) for i, item in zip(task_ids, raw, strict=True)
        ]

    async def wait(self, task_id: str, timeout: float | None) -> TaskResult:
        """Read the result and register as its waiter in one script; a final result stored
        later is pushed to this process, so no wake-up is missed and nothing polls."""
        if self._waiters is None:
            raise RuntimeError("RedisBackend is not connected: call 'await backend.connect()'")
        return await self._waiters.wait(task_id, timeout)

    async def list(
        self,
        statuses: Collection[TaskStatus] | None = None,
        *,
        task_name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskResult]:
        """Newest submitted first; reads at most ``offset + limit`` ids per status index (or
        walks the task name's index when ``task_name`` is given)."""
        if limit <= 0:
            return []
        wanted = {TaskStatus(s) for s in statuses} if statuses is not None else set(TaskStatus)
        await self._script("counts")  # prunes expired index entries
        if task_name is not None:
            return await self._list_by_name(task_name, wanted, limit, offset)
        async with self.redis.client.pipeline(transaction=False) as pipe:
            for status in wanted:
                pipe.zrevrange(self._key("status", status.value), 0, offset + limit - 1, True)
            ranked = [pair for chunk in await pipe.execute() for pair in chunk]
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        ids = [bytes(member).decode() for member, _ in ranked[offset : offset + limit]]
        return [result for result in await self.get_many(ids) if result is not None]

    async def _list_by_name(
        self, task_name: str, wanted: set[TaskStatus], limit: int, offset: int
    ) -> builtins.list[TaskResult]:
        found: builtins.list[TaskResult] = []
        chunk = max(2 * (offset + limit), 100)
        start = 0
        key = self._key("name", task_name)
        while len(found) < offset + limit:
            members: builtins.list[bytes] = await self.redis.runner.execute(
                "ZREVRANGE", key, start, start + chunk - 1
            )
            if not members:
                break
            start += chunk
            for result in await self.get_many([m.decode() for m in members]):
                if result is not None and result.status in wanted:
                    found.append(result)
        return found[offset : offset + limit]

    async def counts(self) -> dict[TaskStatus, int]:
        values = await self._script("counts")
        return {status: int(n) for status, n in zip(TaskStatus, values, strict=True)}

    async def query(self, query: ResultQuery) -> ResultPage:
        return await redis_query.query(self, query)

    async def status_counts(self, since: dt.datetime | None = None) -> dict[TaskStatus, int]:
        if since is None:
            return await self.counts()
        return await redis_query.status_counts(self, since)

    async def throughput(
        self, since: dt.datetime, until: dt.datetime
    ) -> builtins.list[ThroughputPoint]:
        return await redis_query.throughput(self, since, until)

    async def delete(self, task_ids: Sequence[str]) -> int:
        if not task_ids:
            return 0
        return int(await self._script("delete", *task_ids))


_PENDING = TaskStatus.PENDING.value
#: Values ``TaskResult.from_dict`` reads for a key that is missing: stored documents leave
#: such keys out (a PENDING result is 40% smaller).
_IMPLIED = {"retries": 0, "priority": 0, "queue": "default", "args": [], "kwargs": {}}


def _document(result: TaskResult, *, native_datetimes: bool) -> dict[str, Any]:
    """``result.to_dict`` without the keys whose value is null or implied; a PENDING one
    also without its task id and status, which its key and the missing status say (a final
    one is pushed to waiters as it is stored, and keeps both)."""
    document = {
        key: value
        for key, value in result.to_document(native_datetimes=native_datetimes).items()
        if value is not None and _IMPLIED.get(key) != value
    }
    if result.status is TaskStatus.PENDING:
        del document["task_id"], document["status"]
    return document


def _read(task_id: str, raw: bytes) -> TaskResult:
    """The result stored under ``task_id``'s key."""
    document = loads(raw)
    document.setdefault("task_id", task_id)
    document.setdefault("status", _PENDING)
    return TaskResult.from_dict(document)


def _plain(result: TaskResult) -> bool:
    """True when the arguments and value of ``result`` are plain scalars (see ``encode``)."""
    if not is_plain_scalar(result.result):
        return False
    for value in result.args:
        if not is_plain_scalar(value):
            return False
    return all(is_plain_scalar(value) for value in result.kwargs.values())
