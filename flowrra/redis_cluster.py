"""Redis Cluster: the hash tags that keep each Flowrra script in one slot, and the route from
a tag to the master serving its slot.

Every key of one Flowrra app shares the hash tag of its prefix (``{flowrra}:q:...``), so all
of them live in one slot and every script runs unchanged on any cluster: the cluster moves
the slot as a whole, with its keys, when it fails over or reshards. A broker with
``shards=N`` spreads its queues over N tags (:func:`shard_prefixes`), chosen so that each
falls in its own N-th of the slot range: on a cluster whose masters split the range evenly
(what ``redis-cli --cluster create`` does) the shards land on different masters.

The frequent commands do not go through redis-py's cluster client: a :class:`SlotRoute` keeps
connections to the one master serving the tag's slot, asks the cluster where that slot is
(``CLUSTER SLOTS``) when a connection fails, and follows a ``MOVED`` reply at once.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import AskError
from redis.exceptions import ConnectionError as RedisConnectionError

if TYPE_CHECKING:
    from .redis_url import RedisTarget


def tag_of(prefix: str) -> str:
    """The hash tag of ``prefix`` (the text between its first ``{`` and the next ``}``)."""
    start = prefix.index("{")
    return prefix[start + 1 : prefix.index("}", start + 1)]


def shard_prefixes(prefix: str, shards: int) -> list[str]:
    """The key prefixes of ``shards`` shards of ``prefix``: ``prefix`` itself for the
    ``shards``-th of the slot range its tag falls in, and for each other ``i``-th, the tag
    ``<tag>-<n>`` with the smallest ``n`` whose slot lies in the middle half of it."""
    if shards == 1:
        return [prefix]
    tag = tag_of(prefix)
    start = prefix.index("{") + 1
    # the app's own tag is the shard of its part (the result backend's keys are there too)
    found = {key_slot(tag.encode()) * shards // REDIS_CLUSTER_HASH_SLOTS: prefix}
    n = 0
    while len(found) < shards:
        candidate = f"{tag}-{n}"
        # quarters of each part: only the middle two, so that a cluster whose masters split
        # the range a little unevenly still has each shard on its own master
        quarter = key_slot(candidate.encode()) * shards * 4 // REDIS_CLUSTER_HASH_SLOTS
        if quarter % 4 in (1, 2):
            found.setdefault(quarter // 4, prefix[:start] + candidate + prefix[start + len(tag) :])
        n += 1
    return [found[i] for i in range(shards)]


@functools.lru_cache(maxsize=4096)  # asked for every task and result a worker handles
def shard_of(queue: str, shards: int) -> int:
    """The shard a queue lives on (the same in every process: CRC-32 of its name)."""
    return zlib.crc32(queue.encode()) % shards if shards > 1 else 0


class FixedRoute:
    """The route of a plain Redis, a Unix socket or a Sentinel-managed master: one pool."""

    mapped = True

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def serves(self, conn: AbstractConnection) -> bool:
        return True

    def moved(self, error: AskError) -> None:  # pragma: no cover - only a cluster says MOVED
        raise error

    async def locate(self) -> None:
        """Nothing to look up: redis-py's pool (and Sentinel) find the server."""


class SlotRoute:
    """Connections to the master that serves the slot of ``key``; ``make_pool(host, port)``
    makes the pool of one node."""

    def __init__(
        self,
        nodes: tuple[tuple[str, int], ...],
        key: str,
        make_pool: Callable[[str, int], ConnectionPool],
    ) -> None:
        self.slot = key_slot(key.encode())
        self._known = list(dict.fromkeys(nodes))
        #: The slot map was read (``locate``) at least once, so every node is known.
        self.mapped = False
        self._make_pool = make_pool
        self._pools: dict[tuple[str, int], ConnectionPool] = {}
        self.address = self._known[0]

    @property
    def pool(self) -> ConnectionPool:
        """The pool of the node believed to serve the slot."""
        if self.address not in self._pools:
            self._pools[self.address] = self._make_pool(*self.address)
        return self._pools[self.address]

    def serves(self, conn: AbstractConnection) -> bool:
        """Whether ``conn`` goes to the node believed to serve the slot."""
        return (getattr(conn, "host", None), getattr(conn, "port", None)) == self.address

    def moved(self, error: AskError) -> None:
        """Follow a ``MOVED`` reply (an ``ASK`` during a slot migration, likewise)."""
        self.address = (error.host, error.port)
        if self.address not in self._known:
            self._known.append(self.address)

    async def locate(self) -> None:
        """Ask the known nodes, the current one first, which master serves the slot now, and
        learn every node of the cluster (replicas too: one of them may be the next master,
        and the nodes of the URL may be the ones that died); ``ConnectionError`` when none
        answers."""
        failures: list[str] = []
        for address in sorted(self._known, key=lambda a: a != self.address):
            conn = self._make_pool(*address).make_connection()
            try:
                await conn.connect()
                await conn.send_command("CLUSTER", "SLOTS")
                ranges: list[Any] = await conn.read_response()
            except Exception as exc:  # a dead or half-started node: ask the next one
                failures.append(f"{address[0]}:{address[1]}: {exc}")
                continue
            finally:
                await conn.disconnect()
            serving = None
            for first, last, *nodes in ranges:
                for host, port, *_ in nodes:
                    node = (host.decode() or address[0], int(port))
                    if node not in self._known:
                        self._known.append(node)
                if int(first) <= self.slot <= int(last):
                    serving = (nodes[0][0].decode() or address[0], int(nodes[0][1]))
            if serving is not None:
                self.address = serving
                self.mapped = True
                return
            failures.append(f"{address[0]}:{address[1]}: no master serves slot {self.slot}")
        raise RedisConnectionError(f"no Redis Cluster node knows slot {self.slot}: {failures}")


class _Component(Protocol):
    prefix: str
    target: RedisTarget

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...
    def describe(self) -> str: ...


class _Queued(Protocol):
    @property
    def queue(self) -> str: ...


ComponentT = TypeVar("ComponentT", bound=_Component)
QueuedT = TypeVar("QueuedT", bound=_Queued)


class Sharded(Generic[ComponentT]):
    """What the cluster broker and result backend share: ``shards``, one component per hash
    tag (see :func:`shard_prefixes`), opened, closed and pinged together."""

    shards: list[ComponentT]

    def spread(self, first: ComponentT, make: Callable[[str], ComponentT]) -> None:
        """Set ``shards``: ``first`` (made from the URL) when its URL says one shard, else
        ``make(prefix)`` for each shard's prefix."""
        prefixes = shard_prefixes(first.prefix, first.target.shards)
        self.shards = [first] if len(prefixes) == 1 else [make(prefix) for prefix in prefixes]

    def shard_for(self, queue: str) -> int:
        """The index of the shard ``queue`` lives on."""
        return shard_of(queue, len(self.shards))

    def by_shard(self, items: Iterable[QueuedT]) -> dict[int, list[QueuedT]]:
        """Tasks or results grouped by the shard of their queue, in order."""
        grouped: dict[int, list[QueuedT]] = defaultdict(list)
        shards = len(self.shards)
        for item in items:
            grouped[shard_of(item.queue, shards)].append(item)
        return grouped

    async def connect(self) -> None:
        for shard in self.shards:
            await shard.connect()

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()

    async def ping(self) -> bool:
        return all(await asyncio.gather(*(shard.ping() for shard in self.shards)))

    def describe(self) -> str:
        return self.shards[0].describe()
