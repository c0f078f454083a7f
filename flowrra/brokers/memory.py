"""In-process broker: a FIFO per queue and priority, and a delay heap. Not durable: it lives
and dies with the app, which is also what makes it the test helper (see ``Flowrra.join``)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..registry import PRIORITY_MAX, PRIORITY_MIN
from .base import BaseBroker, Delivery

if TYPE_CHECKING:
    from ..config import BrokerConfig
    from ..task import Task

_LEVELS = range(PRIORITY_MAX, PRIORITY_MIN - 1, -1)


class _Queue:
    """One named queue: a deque per priority level, highest level served first."""

    __slots__ = ("levels", "size")

    def __init__(self) -> None:
        self.levels: list[deque[Task]] = [deque() for _ in range(PRIORITY_MAX + 1)]
        self.size = 0

    def head_priority(self) -> int:
        for level in _LEVELS:
            if self.levels[level]:
                return level
        return -1


class MemoryBroker(BaseBroker):
    """Highest priority first, FIFO within a priority; ``max_size`` bounds waiting messages
    (0 = unbounded): a producer that finds the broker full waits in :meth:`wait_for_capacity`
    until it is half empty, so producer and worker take turns in large batches."""

    durable = False

    def __init__(self, config: BrokerConfig | None = None, *, max_size: int = 0) -> None:
        super().__init__(config)
        self.max_size = max_size
        self._queues: dict[str, _Queue] = {}
        self._delayed: list[tuple[float, int, Task]] = []
        self._revoked: set[str] = set()
        self._seq = itertools.count()
        self._size = 0
        self._arrived = asyncio.Event()
        #: Fetches waiting on ``_arrived``: an enqueue with none waiting need not set it.
        self._fetchers_waiting = 0
        self._drained = asyncio.Event()

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue()
        return queue

    async def enqueue(self, tasks: Sequence[Task]) -> None:
        now = 0.0
        queues = self._queues
        for task in tasks:
            if task.eta is not None and task.eta > (now or (now := time.time())):
                heapq.heappush(self._delayed, (task.eta, next(self._seq), task))
            else:
                queue = queues.get(task.queue) or self._queue(task.queue)
                queue.levels[task.priority].append(task)
                queue.size += 1
        self._size += len(tasks)
        if self._fetchers_waiting:
            self._arrived.set()

    async def wait_for_capacity(self) -> None:
        while self.max_size and self._size >= self.max_size:
            self._drained.clear()
            await self._drained.wait()

    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        self._promote_due()
        taken = self._take(queues, max_count)
        if taken or timeout <= 0:
            return taken
        if self._delayed:
            timeout = min(timeout, max(self._delayed[0][0] - time.time(), 0.0))
        self._arrived.clear()
        self._fetchers_waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._arrived.wait()
        except TimeoutError:
            pass
        finally:
            self._fetchers_waiting -= 1
        self._promote_due()
        return self._take(queues, max_count)

    def _promote_due(self) -> None:
        delayed = self._delayed
        if not delayed or delayed[0][0] > time.time():
            return
        now = time.time()
        while delayed and delayed[0][0] <= now:
            task = heapq.heappop(delayed)[2]
            queue = self._queue(task.queue)
            queue.levels[task.priority].append(task)
            queue.size += 1

    def _take(self, names: Sequence[str], max_count: int) -> list[Delivery]:
        if names:
            queues = [self._queues[name] for name in names if name in self._queues]
            queues = [queue for queue in queues if queue.size]
        else:
            queues = [queue for queue in self._queues.values() if queue.size]
        if not queues:
            return []
        taken: list[Delivery] = []
        revoked = self._revoked
        if len(queues) == 1:
            _drain_levels(queues[0], max_count, taken, revoked)
        else:
            # several queues: one message at a time from the queue whose head ranks highest
            while len(taken) < max_count:
                best = max(queues, key=_Queue.head_priority)
                if not best.size:
                    break
                _drain_levels(best, len(taken) + 1, taken, revoked)
        self._size = sum(q.size for q in self._queues.values()) + len(self._delayed)
        if taken and self.max_size and self._size <= self.max_size // 2:
            self._drained.set()
        return taken

    def wakeup(self) -> None:
        self._arrived.set()

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Nothing to do: a fetched message is only held by the worker that took it."""

    async def retry(self, delivery: Delivery, task: Task) -> None:
        await self.enqueue((task,))

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        await self.enqueue([delivery.task for delivery in deliveries])

    async def revoke(self, task_id: str) -> None:
        self._revoked.add(task_id)

    async def queue_sizes(self) -> dict[str, int]:
        return {name: queue.size for name, queue in self._queues.items()}

    async def scheduled_count(self) -> int:
        return len(self._delayed)


def _drain_levels(queue: _Queue, max_count: int, taken: list[Delivery], revoked: set[str]) -> None:
    """Move up to ``max_count`` messages from ``queue`` into ``taken``, best level first."""
    for level in _LEVELS:
        fifo = queue.levels[level]
        while fifo and len(taken) < max_count:
            task = fifo.popleft()
            queue.size -= 1
            if revoked and task.id in revoked:
                revoked.discard(task.id)
                continue
            taken.append(Delivery(task))
        if len(taken) >= max_count:
            return
