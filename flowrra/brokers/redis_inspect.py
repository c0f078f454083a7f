"""What the Redis broker tells dashboards: messages per queue and priority, held
messages, and its dead-letter list (with requeue and delete).

Read-only commands over the broker's keys (``P:q:<queue>:<level>`` lists, ``P:delayed``,
``P:held:<consumer>`` hashes of the consumers in ``P:leases``, ``P:dead:*``); a requeue
removes the dead letter and enqueues its message in one script, so two clicks never run it
twice.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..serialization import loads
from .base import requeueable
from .stats import DeadLetter, QueueLevel

if TYPE_CHECKING:
    from .redis import RedisBroker

_LEVELS = range(10)
#: Most delayed messages and held entries read to split them by queue.
_SCAN_LIMIT = 10_000


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def queue_levels(broker: RedisBroker) -> list[QueueLevel]:
    """Ready messages per queue and priority, with the delayed and held ones per queue."""
    client = broker.redis.client
    queues = sorted(_text(q) for q in await client.smembers(broker._key("queues")))
    async with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for level in _LEVELS:
                pipe.llen(broker._key("q", queue, str(level)))
        lengths = await pipe.execute()
    delayed: Counter[str] = Counter()
    for member in await client.zrange(broker._key("delayed"), 0, _SCAN_LIMIT - 1):
        delayed[_text(member).split("|", 1)[0]] += 1
    held: Counter[str] = Counter()
    for consumer in await client.zrange(broker._key("leases"), 0, -1):
        for value in (await client.hgetall(broker._key("held", _text(consumer)))).values():
            parts = _text(value).split("|", 3)
            if len(parts) == 4:
                held[parts[2]] += 1
    levels = []
    for index, queue in enumerate(sorted(set(queues) | set(delayed) | set(held))):
        ready = lengths[index * 10 : index * 10 + 10] if queue in queues else [0] * 10
        busy = [level for level in _LEVELS if ready[level]] or [0]
        for level in busy:
            first = level == busy[0]
            levels.append(
                QueueLevel(
                    queue,
                    level,
                    int(ready[level]),
                    delayed[queue] if first else 0,
                    held[queue] if first else 0,
                )
            )
    return levels


async def dead_letters(broker: RedisBroker, limit: int) -> list[DeadLetter]:
    """The newest ``limit`` dead letters (``P:dead:ids`` by age, ``P:dead:items`` by id)."""
    runner = broker.redis.runner
    ids = await runner.execute("ZREVRANGE", broker._key("dead", "ids"), 0, limit - 1)
    if not ids:
        return []
    raw = await runner.execute("HMGET", broker._key("dead", "items"), *ids)
    return [_letter(item) for item in raw if item is not None]


def _letter(raw: bytes) -> DeadLetter:
    # the message may be bytes that are not text at all
    data: dict[str, Any] = loads(raw.decode("utf-8", "replace"))
    return DeadLetter(
        id=str(data.get("id")),
        reason=str(data.get("reason") or ""),
        queue=str(data.get("queue") or ""),
        priority=data.get("priority"),
        at=data.get("at"),
        message=str(data.get("message") or ""),
        truncated=bool(data.get("truncated")),
    )


async def requeue(broker: RedisBroker, wanted: str) -> bool:
    """Enqueue the dead letter's message again and forget it, in one script (two clicks never
    run it twice); ``ValueError`` if its message cannot run."""
    raw = await broker.redis.runner.execute("HGET", broker._key("dead", "items"), wanted)
    if raw is None:
        return False
    task = requeueable(_letter(raw))
    return bool(await broker._script("requeue_dead", wanted, task.queue, task.priority))


async def delete(broker: RedisBroker, wanted: str) -> bool:
    return bool(await broker._script("delete_dead", wanted))
