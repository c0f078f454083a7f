"""Redis broker: priority lists per queue, per-consumer held hashes, leases and Lua scripts.

Every step that touches several keys is one Lua script (see :mod:`.redis_scripts`), so a batch
of messages costs one round trip to enqueue, one to fetch and one to acknowledge. A fetched
message moves atomically into the consumer's held hash and stays there until it is
acknowledged (after its result is stored), retried, dead-lettered or released; a consumer
whose heartbeat lease runs out, or a message held past its visibility timeout, is put back
at the head of its queue by whichever worker notices first. The design note is docs/redis.md.

(Over 350 lines: one class holding the broker's whole protocol, producing, consuming,
inspecting and the workers' leases, most methods a thin call of one script.)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..backends.redis import Fence, RedisBackend
from ..exceptions import ConfigurationError
from ..plugins import mask_url
from ..redis_cluster import tag_of
from ..redis_connection import RedisComponent, RedisConnection
from ..redis_url import hash_tagged, parse_redis_url
from ..registry import validate_options
from ..serialization import dumps, encode_message, loads
from ..task import Task
from . import redis_inspect, redis_scripts
from .base import BaseBroker, Delivery
from .redis_blocking import BlockingScripts

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from ..backends.base import BaseResultBackend
    from ..config import BrokerConfig
    from ..task import TaskResult
    from .stats import DeadLetter, QueueLevel

logger = logging.getLogger(__name__)

#: Most messages one script call takes or enqueues (a Lua ``unpack`` is bounded too, and a
#: long script would hold up every other client).
MAX_BATCH = 1000
#: Lease of a consumer that fetched before its first heartbeat, in seconds.
FIRST_LEASE = 60.0
#: Dead letters kept, by count and by total bytes (older ones are dropped), and the most
#: of one message kept.
DEAD_LETTER_LIMIT = 10_000
DEAD_LETTER_BYTES = 64 * 1024 * 1024
DEAD_MESSAGE_BYTES = 1024 * 1024
#: How long past its announced wake-up a sleeping consumer's entry stays valid, in seconds.
SLEEPER_SLACK = 1.0
#: A held message this consumer does not know of (its fetch reply was lost with the
#: connection) is given back once it is this many seconds old.
ORPHAN_AGE = 30.0
#: Revoked ids are forgotten after this many seconds.
REVOKED_KEEP = 7 * 86_400
_VISIBILITY_OPTION = "visibility_timeout."


class RedisBroker(RedisComponent, BaseBroker):
    """At-least-once broker on Redis (``redis://``, ``rediss://``, ``unix://``,
    ``redis+sentinel://``, ``redis+cluster://``) with priorities 0-9, named queues, delays and
    revocation.

    ``visibility_timeout.<queue>=<seconds>`` in the URL query overrides
    ``BrokerConfig.visibility_timeout`` for one queue.
    """

    #: Bounds of the dead letters (written to Redis by every heartbeat; the last one wins).
    dead_letter_limit = DEAD_LETTER_LIMIT
    dead_letter_bytes = DEAD_LETTER_BYTES
    dead_message_bytes = DEAD_MESSAGE_BYTES

    def __init__(self, config: BrokerConfig | None = None, *, prefix: str | None = None) -> None:
        """``prefix`` overrides the key prefix of the URL (a shard of a cluster broker)."""
        if config is None:
            raise ConfigurationError(
                "RedisBroker needs a BrokerConfig, e.g. BrokerConfig(url='redis://localhost:6379/0')"
            )
        super().__init__(config)
        self.target = parse_redis_url(config.url, extra_prefixes=(_VISIBILITY_OPTION,))
        self.prefix = prefix or config.queue_key or self.target.key_prefix
        if self.target.cluster_nodes:
            self.prefix = hash_tagged(self.prefix)
        self.queue_visibility = _queue_visibility(self.target.extra, config.url)
        self.consumer_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: Task ids revoked anywhere, as last read from Redis; a worker skips them.
        self.revoked_ids: set[str] = set()
        self._revoked_version: bytes | None = None
        self._sleeping = False
        self._woken = False
        self._lease = FIRST_LEASE
        self._worker_ids: set[str] = set()
        #: Delivery tags handed to this process and not yet acknowledged or given back.
        self._outstanding: set[int] = set()
        self._valid_queues: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        #: This consumer has renewed its lease before (so a missing lease means it lapsed).
        self._leased = False
        #: The epoch this consumer's result writes name, as its last heartbeat read it: how
        #: many times its lease ran out and what it held was taken back (see :class:`Fence`).
        self.epoch = 0
        #: Submits from threads without an event loop (:meth:`store_and_enqueue_here`).
        self._blocking: BlockingScripts | None = None
        self._blocking_lock = threading.Lock()

    @classmethod
    def check_url(cls, url: str) -> None:
        _queue_visibility(parse_redis_url(url, extra_prefixes=(_VISIBILITY_OPTION,)).extra, url)

    # -- connection --------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._redis is None:
            assert self.config is not None
            self._redis = RedisConnection(
                self.target, self.config, redis_scripts.SCRIPTS, self.prefix
            )

    async def close(self) -> None:
        for task in list(self._background):
            await asyncio.gather(task, return_exceptions=True)
        await self._close_redis()
        blocking, self._blocking = self._blocking, None
        if blocking is not None:
            blocking.close()

    async def _script(self, name: str, *args: Any) -> Any:
        return await self.redis.script(name, self.prefix, *args)

    # -- producing ---------------------------------------------------------------------------

    async def enqueue(self, tasks: Sequence[Task]) -> None:
        for start in range(0, len(tasks), MAX_BATCH):
            await self.redis.script(
                "enqueue", *self._enqueue_arguments(tasks[start : start + MAX_BATCH])
            )

    async def store_and_enqueue(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> None:
        """One round trip when the backend is on the same Redis: the store script and the
        enqueue script run in one transaction, so a lost connection leaves neither done."""
        if not self._stores_with(backend):
            await super().store_and_enqueue(backend, pending, tasks)
            return
        records = {record.task_id: record for record in pending}  # none for ignore_result
        for start in range(0, len(tasks), MAX_BATCH):
            chunk = tasks[start : start + MAX_BATCH]
            mine = [records[task.id] for task in chunk if task.id in records]
            await self.redis.runner.scripts_in_transaction(
                self._submit_scripts(backend, mine, chunk)
            )

    def store_and_enqueue_here(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> bool:
        """:meth:`store_and_enqueue` in the calling thread, which it blocks for the round
        trip (code without an event loop: a Django view), on a connection of its own. False,
        and nothing written, when results live elsewhere, the batch is too long or Redis is a
        cluster."""
        if not self._stores_with(backend) or len(tasks) > MAX_BATCH or self.target.cluster_nodes:
            return False  # a cluster's client routes by slot: the loop's route does that
        blocking = self._blocking
        if blocking is None:
            with self._blocking_lock:
                if self._blocking is None:
                    assert self.config is not None
                    self._blocking = BlockingScripts(self.target, self.config, self.prefix)
                blocking = self._blocking
        blocking.in_transaction(self._submit_scripts(backend, pending, tasks))
        return True

    def _submit_scripts(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> list[tuple[AsyncScript, list[Any]]]:
        """The store script (without ``pending``: fire-and-forget tasks, none) and the
        enqueue script of a submit, with their arguments."""
        assert isinstance(backend, RedisBackend)
        enqueue = (self.redis.scripts["enqueue"], self._enqueue_arguments(tasks))
        if not pending:
            return [enqueue]
        return [(backend.redis.scripts["store"], backend.store_arguments(pending)), enqueue]

    def _enqueue_arguments(self, tasks: Sequence[Task]) -> list[Any]:
        args: list[Any] = [self.prefix, len(tasks)]
        for task in tasks:
            args += (
                task.queue,
                task.priority,
                "" if task.eta is None else repr(task.eta),
                encode_message(task),
            )
        return args

    def _stores_with(self, backend: BaseResultBackend) -> bool:
        """True when ``backend`` keeps results on this broker's Redis server and db, so one
        script or transaction can write results and messages together."""
        if not (isinstance(backend, RedisBackend) and backend.shares_server_with(self.target)):
            return False
        # on a cluster, only keys of one hash tag can be in one script
        return not self.target.cluster_nodes or tag_of(backend.prefix) == tag_of(self.prefix)

    async def revoke(self, task_id: str) -> None:
        now = time.time()
        async with self.redis.client.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key("revoked"), {task_id: now})
            pipe.zremrangebyscore(self._key("revoked"), "-inf", now - REVOKED_KEEP)
            pipe.incr(self._key("revoked", "v"))
            await pipe.execute()

    # -- consuming ---------------------------------------------------------------------------

    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        self._woken = False
        deadline = time.monotonic() + timeout
        default, overrides = self._visibility, self.queue_visibility
        # no queues: every known queue, with only the visibility overrides spelled out
        pairs = [(q, overrides.get(q, default)) for q in queues] or overrides.items()
        queue_args = [default, 0 if queues else 1, *itertools.chain.from_iterable(pairs)]
        want = max(1, min(max_count, MAX_BATCH))
        wake_key = self._key("wake", self.consumer_id)
        while True:
            # a sleeper announces how long it may block, so a dead one is never handed work
            nap = self.block_timeout(deadline - time.monotonic()) if timeout > 0 else 0
            register = nap > 0
            reply = await self._script(
                "fetch",
                self.consumer_id,
                want,
                nap + SLEEPER_SLACK if register else 0,
                int(self._sleeping),
                self._lease,
                *queue_args,
            )
            self._sleeping = register and len(reply) == 2
            if len(reply) > 2:
                if reply[0] != self._revoked_version:
                    await self._load_revoked(reply[0])
                deliveries = await self._accept(reply, 2)
                if deliveries:
                    return deliveries
                continue  # everything taken was revoked or malformed: look again
            left = deadline - time.monotonic()
            if left <= 0 or self._woken:
                return []
            if reply[1]:
                left = min(left, max(float(reply[1]) - time.time(), 0.001))
            woke = await self.redis.runner.execute("BLPOP", wake_key, self.block_timeout(left))
            if woke is not None and woke[1] != b"1":
                # a message handed over while we slept: "<tag>|<message>"; the next fetch
                # still leaves the sleepers of the other queues (_sleeping stays set)
                tag, _, payload = woke[1].partition(b"|")
                deliveries = await self._accept([int(tag), payload], 0)
                if deliveries:
                    return deliveries
            if self._woken:
                return []

    @property
    def _visibility(self) -> float:
        assert self.config is not None
        return self.config.visibility_timeout

    def block_timeout(self, seconds: float) -> float:
        """A BLPOP timeout that ends before the socket timeout would cut it."""
        assert self.config is not None
        return round(max(0.001, min(seconds, self.config.socket_timeout / 2)), 3)

    async def _accept(self, reply: list[Any], start: int) -> list[Delivery]:
        """Deliveries from ``reply[start:]`` (tag, message pairs); malformed messages go to
        the dead-letter list and revoked ones are dropped, in one round trip."""
        revoked = self.revoked_ids
        deliveries: list[Delivery] = []
        rejected: list[Any] = []
        skipped: list[Any] = []
        outstanding = self._outstanding
        for i in range(start, len(reply), 2):
            tag, payload = reply[i], reply[i + 1]
            outstanding.add(tag)
            try:
                data = loads(payload)
                if not isinstance(data, dict):
                    raise ValueError(f"expected a JSON object, got {type(data).__name__}")
                task = Task.from_message(data)
                if task.queue not in self._valid_queues or not 0 <= task.priority <= 9:
                    validate_options(priority=task.priority, queue=task.queue)
                    self._valid_queues.add(task.queue)
            except Exception as exc:
                reason = f"malformed message: {exc}"
                logger.error("Dead-lettering a message from Redis: %s: %.200r", reason, payload)
                rejected += (tag, reason)
                continue
            if revoked and task.id in revoked:
                skipped.append(tag)
                continue
            deliveries.append(Delivery(task, tag))
        if rejected:
            await self._script("dead_letter", self.consumer_id, *rejected)
            outstanding.difference_update(rejected[::2])
        if skipped:
            await self.redis.runner.execute("HDEL", self._key("held", self.consumer_id), *skipped)
            outstanding.difference_update(skipped)
        return deliveries

    async def _load_revoked(self, version: bytes) -> None:
        ids: list[bytes] = await self.redis.runner.execute("ZRANGE", self._key("revoked"), 0, -1)
        self.revoked_ids.clear()
        self.revoked_ids.update(item.decode() for item in ids)
        self._revoked_version = version

    def wakeup(self) -> None:
        self._woken = True
        if self._redis is None:
            return
        task = asyncio.get_running_loop().create_task(self._push_wake())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _push_wake(self) -> None:
        key = self._key("wake", self.consumer_id)
        try:
            await self.redis.runner.execute("RPUSH", key, "1")
            await self.redis.runner.execute("EXPIRE", key, 30)
        except Exception as exc:  # the fetch loop ends by its own timeout anyway
            logger.debug("Could not wake the fetch of %s: %s", self.consumer_id, exc)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            tags = [d.receipt for d in deliveries]
            await self.redis.runner.execute("HDEL", self._key("held", self.consumer_id), *tags)
            self._outstanding.difference_update(tags)

    async def store_and_ack(
        self,
        backend: BaseResultBackend,
        results: Sequence[TaskResult],
        deliveries: Sequence[Delivery],
    ) -> None:
        """One round trip when the backend is on the same Redis: the store script deletes the
        acknowledged deliveries from this consumer's held hash after writing the results,
        and refuses those of a write sent before this consumer's lease ran out that another
        worker's later run has replaced (:class:`~flowrra.backends.redis.Fence`)."""
        if not (self._stores_with(backend) and results):
            await super().store_and_ack(backend, results, deliveries)
            return
        assert isinstance(backend, RedisBackend)
        tags = [d.receipt for d in deliveries]
        await backend.store(results, fence=Fence(self.prefix, self.consumer_id, self.epoch, tags))
        self._outstanding.difference_update(tags)

    async def retry(self, delivery: Delivery, task: Task) -> None:
        await self._script(
            "retry",
            self.consumer_id,
            delivery.receipt,
            task.queue,
            task.priority,
            "" if task.eta is None else repr(task.eta),
            encode_message(task),
        )
        self._outstanding.discard(delivery.receipt)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        await self._script("dead_letter", self.consumer_id, delivery.receipt, reason)
        self._outstanding.discard(delivery.receipt)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            tags = [d.receipt for d in deliveries]
            await self._script("release", self.consumer_id, *tags)
            self._outstanding.difference_update(tags)

    # -- inspection --------------------------------------------------------------------------

    async def queue_sizes(self) -> dict[str, int]:
        flat: list[Any] = await self._script("queue_sizes")
        return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def scheduled_count(self) -> int:
        return int(await self.redis.runner.execute("ZCARD", self._key("delayed")))

    supports_dead_letters = True

    async def queue_levels(self) -> list[QueueLevel]:
        return await redis_inspect.queue_levels(self)

    async def dead_letter_list(self, limit: int = 100) -> list[DeadLetter]:
        return await redis_inspect.dead_letters(self, limit)

    async def requeue_dead_letter(self, letter_id: str) -> bool:
        return await redis_inspect.requeue(self, str(letter_id))

    async def delete_dead_letter(self, letter_id: str) -> bool:
        return await redis_inspect.delete(self, str(letter_id))

    # -- workers -----------------------------------------------------------------------------

    async def heartbeat(self, info: dict[str, Any], ttl: float) -> bool:
        """Renew this consumer's lease, publish ``info``, and requeue what dead consumers held
        (every live worker does this on each heartbeat, so one that dies is noticed within
        one heartbeat interval of its lease running out). The consumer's epoch it reads back
        is the one its result writes name from then on: a heartbeat that finds the lease ran
        out has the worker check which messages it still holds before it writes again."""
        self._worker_ids.add(info["id"])
        self._lease = max(ttl, 1.0)
        moved, lapsed, self.epoch = await self._script(
            "heartbeat",
            self.consumer_id,
            info["id"],
            ttl,
            dumps(info),
            max(ORPHAN_AGE, ttl),
            int(self._leased),
            self.dead_letter_limit,
            self.dead_letter_bytes,
            self.dead_message_bytes,
            *self._outstanding,
        )
        self._leased = True
        if moved:
            logger.warning("Requeued %d message(s) held by dead or stuck workers", moved)
        return bool(lapsed)

    async def still_held(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        if not deliveries:
            return []
        tags = [d.receipt for d in deliveries]
        found = await self.redis.runner.execute("HMGET", self._key("held", self.consumer_id), *tags)
        return [d for d, value in zip(deliveries, found, strict=True) if value is not None]

    async def forget_worker(self, worker_id: str) -> None:
        self._worker_ids.discard(worker_id)
        consumer = "" if self._worker_ids else self.consumer_id
        moved = await self._script("retire", consumer, worker_id)
        if consumer:
            self._outstanding.clear()
            self._sleeping = False
        if moved:
            logger.warning("Gave back %d unfinished message(s) for redelivery", moved)

    async def list_workers(self) -> list[dict[str, Any]]:
        raw = await self._script("list_workers")
        return [loads(item) for item in raw if item is not None]


def _queue_visibility(extra: dict[str, str], url: str) -> dict[str, float]:
    timeouts: dict[str, float] = {}
    for name, raw in extra.items():
        queue = name.removeprefix(_VISIBILITY_OPTION)
        try:
            validate_options(queue=queue)
            seconds = float(raw)
            if not seconds > 0:
                raise ValueError("it must be a number of seconds > 0")
        except ValueError as exc:
            raise ConfigurationError(
                f"Invalid option {name}={raw!r} in broker URL {mask_url(url)!r}: {exc}"
            ) from None
        timeouts[queue] = seconds
    return timeouts
