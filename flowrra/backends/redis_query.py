"""The query interface of the Redis result backend, over its per-status and per-name zsets.

Every index is a zset of task ids scored by submission time, so a page walks the indexes
the query names (its statuses, or its task name) from the cursor's time onwards, merging
them in order, and reads the results it passes in batches. Filters the indexes do not hold
(queue, worker, search) are applied to the results read; at most
:data:`~flowrra.backends.query.SEARCH_WINDOW` ids are looked at per page.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..task import TaskStatus
from . import query as q

if TYPE_CHECKING:
    from .redis import RedisBackend

_CHUNK = 200
#: How long before the chart's first minute a task may have been submitted to be counted.
THROUGHPUT_LOOKBACK = 3600.0


class _Walk:
    """Ids of one zset in score order within [low, high], read ``_CHUNK`` at a time."""

    def __init__(self, backend: RedisBackend, key: str, low: float, high: float, newest: bool):
        self.backend, self.key, self.low, self.high = backend, key, low, high
        self.newest = newest
        self.offset = 0
        self.buffer: list[tuple[float, str]] = []
        self.done = False

    async def head(self) -> tuple[float, str] | None:
        if not self.buffer and not self.done:
            command = "ZREVRANGEBYSCORE" if self.newest else "ZRANGEBYSCORE"
            bounds = (self.high, self.low) if self.newest else (self.low, self.high)
            flat = await self.backend.redis.runner.execute(
                command, self.key, *bounds, "WITHSCORES", "LIMIT", self.offset, _CHUNK
            )
            pairs = _pairs(flat)
            self.offset += len(pairs)
            self.done = len(pairs) < _CHUNK
            self.buffer = pairs[::-1]  # popped from the end
        return self.buffer[-1] if self.buffer else None


def _pairs(reply: list[Any]) -> list[tuple[float, str]]:
    """(score, member) pairs of a WITHSCORES reply, flat (RESP2) or nested (RESP3)."""
    if reply and isinstance(reply[0], list | tuple):
        return [(float(score), member.decode()) for member, score in reply]
    return [(float(reply[i + 1]), reply[i].decode()) for i in range(0, len(reply), 2)]


async def _merged_ids(walks: list[_Walk], newest: bool, budget: int) -> list[str]:
    """Up to ``budget`` ids from ``walks`` in one score order (ties by id)."""
    ids: list[str] = []
    while len(ids) < budget:
        heads = [(await walk.head(), walk) for walk in walks]
        live = [(head, walk) for head, walk in heads if head is not None]
        if not live:
            break
        pick = max if newest else min
        _, walk = pick(live, key=lambda pair: pair[0])
        ids.append(walk.buffer.pop()[1])
    return ids


async def query(backend: RedisBackend, query: q.ResultQuery) -> q.ResultPage:
    """One page of ``query`` (see :meth:`BaseResultBackend.query`)."""
    await backend._script("counts")  # prunes expired index entries
    newest = query.order == "newest"
    low = query.submitted_from.timestamp() if query.submitted_from else 0.0
    high = query.submitted_to.timestamp() if query.submitted_to else float("inf")
    if query.after is not None:
        edge = query.after.submitted_at.timestamp()
        if newest:
            high = min(high, edge + 0.001)
        else:
            low = max(low, edge - 0.001)
    if query.task_name:
        keys = [backend._key("name", query.task_name)]
    else:
        statuses = query.statuses or frozenset(TaskStatus)
        keys = [backend._key("status", status.value) for status in sorted(statuses)]
    walks = [_Walk(backend, key, low, high, newest) for key in keys]
    found: list = []
    looked = 0
    limited = False
    while len(found) <= query.limit:
        if looked >= q.SEARCH_WINDOW:
            limited = True
            break
        ids = await _merged_ids(walks, newest, min(_CHUNK, q.SEARCH_WINDOW - looked))
        if not ids:
            break
        looked += len(ids)
        for result in await backend.get_many(ids):
            if (
                result is not None
                and result.submitted_at is not None
                and q.matches(query, result)
                and q.after_cursor(query, result, result.task_id)
            ):
                found.append(result)
    found.sort(key=lambda r: (r.submitted_at, r.task_id), reverse=newest)
    page = found[: query.limit]
    more = len(found) > query.limit
    last = page[-1] if page else None
    cursor = q.Cursor(last.submitted_at, last.task_id) if more and last else None
    return q.ResultPage(page, cursor, limited and bool(query.search))


async def status_counts(backend: RedisBackend, since: dt.datetime) -> dict[TaskStatus, int]:
    """Results per status submitted at or after ``since`` (one ZCOUNT per status)."""
    await backend._script("counts")
    statuses = list(TaskStatus)
    async with backend.redis.client.pipeline(transaction=False) as pipe:
        for status in statuses:
            pipe.zcount(backend._key("status", status.value), since.timestamp(), "+inf")
        counts = await pipe.execute()
    return {status: int(n) for status, n in zip(statuses, counts, strict=True)}


async def throughput(
    backend: RedisBackend, since: dt.datetime, until: dt.datetime
) -> list[q.ThroughputPoint]:
    """Per-minute SUCCESS/FAILED counts by finish time, from results submitted since
    :data:`THROUGHPUT_LOOKBACK` seconds before ``since`` (the newest 20,000 of each status)."""
    series = q.empty_series(since, until)
    low = since.timestamp() - THROUGHPUT_LOOKBACK
    for status in (TaskStatus.SUCCESS, TaskStatus.FAILED):
        walk = _Walk(backend, backend._key("status", status.value), low, float("inf"), True)
        ids = await _merged_ids([walk], True, 20_000)
        for start in range(0, len(ids), 1000):
            for result in await backend.get_many(ids[start : start + 1000]):
                finished = result.finished_at if result is not None else None
                if result is not None and finished is not None and since <= finished <= until:
                    q.tally(series, finished, result.status)
    return q.to_points(series)
