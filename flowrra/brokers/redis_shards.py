"""The Redis broker on a Redis Cluster (``redis+cluster://``): its queues spread over
``shards=N`` hash tags, one :class:`~.redis.RedisBroker` per tag.

Each queue lives on one shard (:func:`~flowrra.redis_cluster.shard_of`), so everything the
broker promises for a queue holds as on one Redis: at least once, priorities and FIFO
within a queue, leases, delays, revocation and dead letters, each kept by the scripts of
that shard's slot. A worker fetches from the shards of its queues in turn (one script per
shard, until its batch is full; the first shard changes every few fetches); when all are
empty it waits on every one of them at once and the first to hand it a message wakes the
others.
Priorities order the messages of the queues of one shard, not across shards. Worker
heartbeats and revocations go to every shard; remote-control mailboxes live on the first.
With ``shards=1`` (the default) it is one broker under the app's one hash tag.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..redis_cluster import Sharded
from .base import BaseBroker, Delivery
from .redis import RedisBroker

if TYPE_CHECKING:
    from ..backends.base import BaseResultBackend
    from ..config import BrokerConfig
    from ..task import Task, TaskResult
    from .stats import DeadLetter, QueueLevel


#: Most fetches in a row that start with the same shard.
STICKY = 4


class _RevokedEverywhere(Collection[str]):
    """The task ids revoked as the shards last read them (a live view)."""

    def __init__(self, shards: list[RedisBroker]) -> None:
        self._shards = shards

    def __contains__(self, task_id: object) -> bool:
        return any(task_id in shard.revoked_ids for shard in self._shards)

    def __iter__(self) -> Iterator[str]:
        return iter(set().union(*(shard.revoked_ids for shard in self._shards)))

    def __len__(self) -> int:
        return len(set(self))


class ClusterBroker(Sharded[RedisBroker], BaseBroker):
    """At-least-once broker on a Redis Cluster, its queues spread over ``shards`` hash tags
    (see the module's description); the URL options are :class:`~.redis.RedisBroker`'s."""

    supports_dead_letters = True

    def __init__(self, config: BrokerConfig | None = None) -> None:
        super().__init__(config)
        self.spread(RedisBroker(config), lambda prefix: RedisBroker(config, prefix=prefix))
        self.revoked_ids = _RevokedEverywhere(self.shards)
        # each consumer starts on a shard of its own choosing: workers started together then
        # spread over the shards instead of all taking from the same one in step
        self._turn = itertools.count(random.randrange(STICKY))
        self._first = random.randrange(len(self.shards))

    @classmethod
    def check_url(cls, url: str) -> None:
        RedisBroker.check_url(url)

    # -- producing ---------------------------------------------------------------------------

    async def enqueue(self, tasks: Sequence[Task]) -> None:
        for i, mine in self.by_shard(tasks).items():
            await self.shards[i].enqueue(mine)

    def _backend_of(self, backend: BaseResultBackend, shard: int) -> BaseResultBackend:
        """The part of ``backend`` beside ``shard``: the same shard of a cluster backend with
        the same tags (so results and messages are written in one script), else all of it."""
        from ..backends.redis_shards import ClusterBackend

        if isinstance(backend, ClusterBackend) and [s.prefix for s in backend.shards] == [
            s.prefix for s in self.shards
        ]:
            return backend.shards[shard]
        return backend

    async def store_and_enqueue(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> None:
        results = self.by_shard(pending)
        for i, mine in self.by_shard(tasks).items():
            await self.shards[i].store_and_enqueue(self._backend_of(backend, i), results[i], mine)

    async def revoke(self, task_id: str) -> None:
        await asyncio.gather(*(shard.revoke(task_id) for shard in self.shards))

    # -- consuming ---------------------------------------------------------------------------

    def _groups(self, queues: Sequence[str]) -> list[tuple[int, list[str]]]:
        if not queues:  # every queue of every shard
            return [(i, []) for i in range(len(self.shards))]
        groups: dict[int, list[str]] = defaultdict(list)
        for queue in queues:
            groups[self.shard_for(queue)].append(queue)
        return sorted(groups.items())

    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        groups = self._groups(queues)
        if len(groups) == 1:
            i, mine = groups[0]
            return self._mark(i, await self.shards[i].fetch(mine, max_count, timeout))
        # the shard that gave messages last goes first, for STICKY fetches at most: a worker's
        # flushes then mostly hold one shard's deliveries (one store-and-ack script), and an
        # empty shard is not asked first again and again
        start = self._first + (next(self._turn) % STICKY == 0)
        found: list[Delivery] = []
        for k in range(len(groups)):
            self._first = (start + k) % len(groups)
            i, mine = groups[self._first]
            found += self._mark(i, await self.shards[i].fetch(mine, max_count - len(found), 0))
            if len(found) >= max_count:
                return found
        if found or timeout <= 0:
            return found
        # nothing anywhere: wait on every shard; the first to get a message wakes the others
        waits = [
            asyncio.ensure_future(self.shards[i].fetch(mine, max_count, timeout))
            for i, mine in groups
        ]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for (i, _), wait in zip(groups, waits, strict=True):
            if not wait.done():
                self.shards[i].wakeup()
        for (i, _), got in zip(groups, await asyncio.gather(*waits), strict=True):
            found += self._mark(i, got)
        if len(found) > max_count:  # several shards handed over at once: give the rest back
            await self.release(found[max_count:])
            del found[max_count:]
        return found

    @staticmethod
    def _mark(shard: int, deliveries: list[Delivery]) -> list[Delivery]:
        for delivery in deliveries:
            delivery.receipt = (shard, delivery.receipt)
        return deliveries

    def _split(self, deliveries: Sequence[Delivery]) -> dict[int, list[Delivery]]:
        """The deliveries per shard, each with the shard's own receipt."""
        split: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            shard, tag = delivery.receipt
            split[shard].append(Delivery(delivery.task, tag))
        return split

    def wakeup(self) -> None:
        for shard in self.shards:
            shard.wakeup()

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for i, mine in self._split(deliveries).items():
            await self.shards[i].ack(mine)

    async def store_and_ack(
        self,
        backend: BaseResultBackend,
        results: Sequence[TaskResult],
        deliveries: Sequence[Delivery],
    ) -> None:
        split, stored = self._split(deliveries), self.by_shard(results)
        for i in sorted(set(split) | set(stored)):
            await self.shards[i].store_and_ack(
                self._backend_of(backend, i), stored.get(i, []), split.get(i, [])
            )

    async def retry(self, delivery: Delivery, task: Task) -> None:
        [(i, [mine])] = self._split([delivery]).items()
        if self.shard_for(task.queue) == i:
            await self.shards[i].retry(mine, task)
        else:  # the next attempt goes to another queue, on another shard
            await self.shards[self.shard_for(task.queue)].enqueue([task])
            await self.shards[i].ack([mine])

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        [(i, [mine])] = self._split([delivery]).items()
        await self.shards[i].dead_letter(mine, reason)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for i, mine in self._split(deliveries).items():
            await self.shards[i].release(mine)

    async def still_held(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        held: set[tuple[int, Any]] = set()
        for i, mine in self._split(deliveries).items():
            held.update((i, d.receipt) for d in await self.shards[i].still_held(mine))
        return [d for d in deliveries if d.receipt in held]

    # -- workers -----------------------------------------------------------------------------

    async def heartbeat(self, info: dict[str, Any], ttl: float) -> bool:
        # the first shard (whose list of workers is read) first: its lease of a worker then
        # never outlives the others, so a worker whose messages came back is not listed
        lapsed = [await self.shards[0].heartbeat(info, ttl)]
        lapsed += await asyncio.gather(*(shard.heartbeat(info, ttl) for shard in self.shards[1:]))
        return any(lapsed)

    async def forget_worker(self, worker_id: str) -> None:
        for shard in self.shards:
            await shard.forget_worker(worker_id)

    async def list_workers(self) -> list[dict[str, Any]]:
        return await self.shards[0].list_workers()

    # -- inspection --------------------------------------------------------------------------

    async def queue_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for shard in self.shards:
            sizes.update(await shard.queue_sizes())
        return sizes

    async def scheduled_count(self) -> int:
        return sum([await shard.scheduled_count() for shard in self.shards])

    async def queue_levels(self) -> list[QueueLevel]:
        levels = [level for shard in self.shards for level in await shard.queue_levels()]
        return sorted(levels, key=lambda level: (level.queue, level.priority or 0))

    async def dead_letter_list(self, limit: int = 100) -> list[DeadLetter]:
        letters = [
            replace(letter, id=f"{i}.{letter.id}")
            for i, shard in enumerate(self.shards)
            for letter in await shard.dead_letter_list(limit)
        ]
        return sorted(letters, key=lambda letter: letter.at or 0, reverse=True)[:limit]

    def _letter(self, letter_id: str) -> tuple[RedisBroker, str] | None:
        """The shard and its own id of ``<shard>.<id>``; None for any other id."""
        shard, _, own = str(letter_id).partition(".")
        if not (shard.isdigit() and int(shard) < len(self.shards) and own):
            return None
        return self.shards[int(shard)], own

    async def requeue_dead_letter(self, letter_id: str) -> bool:
        found = self._letter(letter_id)
        return found is not None and await found[0].requeue_dead_letter(found[1])

    async def delete_dead_letter(self, letter_id: str) -> bool:
        found = self._letter(letter_id)
        return found is not None and await found[0].delete_dead_letter(found[1])
