"""The broker interface: where task messages wait until a worker takes them."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..task import Task, TaskResult
from .stats import DeadLetter, QueueLevel, worker_entry

if TYPE_CHECKING:
    from ..backends.base import BaseResultBackend
    from ..config import BrokerConfig


def requeueable(letter: DeadLetter) -> Task:
    """The task of a dead ``letter``, checked so that it can go back to a queue;
    ``ValueError`` says why it cannot."""
    from ..registry import validate_options
    from ..serialization import loads

    if letter.truncated:
        raise ValueError("only the start of this message was kept: it cannot be requeued")
    try:
        data = loads(letter.message)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        task = Task.from_message(data)
        validate_options(priority=task.priority, queue=task.queue)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(f"this message cannot be requeued: it is malformed ({exc})") from None
    return task


@dataclass(slots=True)
class Delivery:
    """A task handed to one worker, with the broker's handle for acknowledging it."""

    task: Task
    receipt: Any = None


class BaseBroker(ABC):
    """A queue of :class:`Task` messages with priorities, named queues and delays.

    Delivery is at least once: a fetched message stays owned by the broker until
    :meth:`ack` (after its result is stored) or :meth:`retry`; a durable broker delivers it
    again if the worker that held it dies.
    """

    #: Messages outlive this process (False only for the in-memory broker).
    durable: ClassVar[bool] = True
    #: Ids revoked by other processes, as far as this broker has learned (a shared broker
    #: keeps it current while it fetches); a worker skips buffered messages with these ids.
    revoked_ids: Collection[str] = frozenset()

    def __init__(self, config: BrokerConfig | None = None) -> None:
        self.config = config
        self._workers: dict[str, tuple[float, dict[str, Any]]] = {}

    @classmethod
    def check_url(cls, url: str) -> None:
        """Raise ``ConfigurationError`` for options or values in ``url`` this broker cannot
        use; ``BrokerConfig`` calls it, so start-up checks catch them before any submit."""

    async def connect(self) -> None:
        """Open connections; called by ``app.start()``."""

    async def close(self) -> None:
        """Release connections; called by ``app.stop()``."""

    async def ping(self) -> bool:
        """True when the broker answers; used by health checks."""
        return True

    @abstractmethod
    async def enqueue(self, tasks: Sequence[Task]) -> None:
        """Store ``tasks``; each goes to ``task.queue`` and becomes due at ``task.eta``."""

    async def store_and_enqueue(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> None:
        """Store the PENDING results of ``tasks`` in ``backend``, then enqueue ``tasks`` (a
        submit). A broker that can do both in one step on the backend's server overrides
        this, as :meth:`store_and_ack` for the worker's side."""
        await backend.store(pending)
        await self.enqueue(tasks)

    def store_and_enqueue_here(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> bool:
        """:meth:`store_and_enqueue` in the calling thread, for code without an event loop
        (a Django view's ``submit()``), without a hop to the thread of the app's loop;
        ``pending`` may be empty (fire-and-forget tasks), and then nothing is stored. False,
        and nothing written, when this broker cannot (the caller then goes through the
        loop); a broker that can overrides this."""
        return False

    async def wait_for_capacity(self) -> None:
        """Wait while a bounded broker is full (back-pressure for producers)."""

    @abstractmethod
    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        """Take up to ``max_count`` due tasks from ``queues``, highest priority first and FIFO
        within a priority, waiting up to ``timeout`` seconds for the first one. Revoked and
        malformed messages are never returned. Empty ``queues`` means every queue; a broker
        that cannot list its queues raises ``ValueError`` for it."""

    def wakeup(self) -> None:
        """Make a :meth:`fetch` that is waiting return now (a worker is stopping)."""

    @abstractmethod
    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Forget deliveries whose final result is stored."""

    async def store_and_ack(
        self,
        backend: BaseResultBackend,
        results: Sequence[TaskResult],
        deliveries: Sequence[Delivery],
    ) -> None:
        """Store ``results`` in ``backend``, then acknowledge ``deliveries`` (a worker's flush).
        A broker that can do both in one step on the backend's server overrides this."""
        if results:
            await backend.store(results)
        if deliveries:
            await self.ack(deliveries)

    @abstractmethod
    async def retry(self, delivery: Delivery, task: Task) -> None:
        """Acknowledge ``delivery`` and enqueue ``task`` (its next attempt, ``eta`` set) as one
        step, so that the attempt is neither lost nor doubled."""

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Set aside a message no worker can run (unknown task name), keeping ``reason``."""
        await self.ack([delivery])

    # -- dead letters --------------------------------------------------------------------
    #
    # A message no worker can run (malformed, an unknown task name, a bad entry in the
    # broker's own storage) is set aside with its reason instead of being dropped. A broker
    # with ``supports_dead_letters`` keeps the newest, bounded by count and by total bytes
    # (see docs/guarantees.md), and implements ``dead_letter_list``, ``requeue_dead_letter``
    # and ``delete_dead_letter`` (below, with what dashboards read).

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` dead letters, newest first, as dicts: ``id`` (for
        :meth:`requeue_dead_letter` and :meth:`delete_dead_letter`), ``reason``, ``queue``,
        ``priority``, ``at`` (Unix time), ``message`` (the raw text, possibly not even JSON)
        and ``truncated`` (only the start of a huge message was kept). Empty for a broker
        that keeps none."""
        if not self.supports_dead_letters:
            return []
        return [asdict(letter) for letter in await self.dead_letter_list(limit)]

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give back deliveries a stopping worker will not run, so another worker gets them
        at once rather than after the visibility timeout."""
        await self.enqueue([delivery.task for delivery in deliveries])
        await self.ack(deliveries)

    @abstractmethod
    async def revoke(self, task_id: str) -> None:
        """Make sure a task that has not started yet is never delivered."""

    @abstractmethod
    async def queue_sizes(self) -> dict[str, int]:
        """Number of due messages waiting, per queue."""

    @abstractmethod
    async def scheduled_count(self) -> int:
        """Number of messages waiting for their ``eta`` (countdowns and retry back-off)."""

    async def heartbeat(self, info: dict[str, Any], ttl: float) -> bool:
        """Record that a worker is alive and renew its lease on what it holds; ``info`` is
        shown by UIs until ``ttl`` runs out. Returns True when the broker found that the
        lease had already run out (what it held may have gone to other workers: see
        :meth:`still_held`)."""
        self._workers[info["id"]] = (time.time() + ttl, dict(info))
        return False

    async def still_held(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Those of ``deliveries`` this process still holds, i.e. not given to another
        worker after its lease ran out. A broker that never takes deliveries back (the
        in-memory one) returns them all."""
        return list(deliveries)

    async def forget_worker(self, worker_id: str) -> None:
        """Remove a worker that stopped cleanly from :meth:`list_workers`."""
        self._workers.pop(worker_id, None)

    async def list_workers(self) -> list[dict[str, Any]]:
        """The workers whose heartbeat has not expired."""
        now = time.time()
        return [info for expires, info in self._workers.values() if expires > now]

    # -- what dashboards read (see .stats) ---------------------------------------------------

    #: True when :meth:`dead_letters` and the actions on them are implemented.
    supports_dead_letters: ClassVar[bool] = False

    async def queue_levels(self) -> list[QueueLevel]:
        """Messages per queue and priority; this default knows only the due count per queue."""
        return [
            QueueLevel(queue, None, n) for queue, n in sorted((await self.queue_sizes()).items())
        ]

    async def workers_seen(self, retention: float) -> list[dict[str, Any]]:
        """Workers whose heartbeat has not expired, and (in a broker that keeps them) those
        whose heartbeat expired less than ``retention`` seconds ago, each with
        ``expires_at`` (Unix time, None when unknown)."""
        if self._workers:
            horizon = time.time() - retention
            return [
                worker_entry(info, expires)
                for expires, info in self._workers.values()
                if expires > horizon
            ]
        return [worker_entry(info, None) for info in await self.list_workers()]

    async def dead_letter_list(self, limit: int = 100) -> list[DeadLetter]:
        """The newest ``limit`` dead letters, newest first (see
        :attr:`supports_dead_letters`)."""
        raise NotImplementedError(f"{type(self).__name__} does not keep dead letters")

    async def requeue_dead_letter(self, letter_id: str) -> bool:
        """Put a dead letter's message back on its queue (for instance once its task is
        deployed) and forget the dead letter; False if it is gone. ``ValueError`` when its
        message cannot run (malformed, or truncated): delete it instead."""
        raise NotImplementedError(f"{type(self).__name__} does not keep dead letters")

    async def delete_dead_letter(self, letter_id: str) -> bool:
        """Forget a dead letter; False if it is gone."""
        raise NotImplementedError(f"{type(self).__name__} does not keep dead letters")

    def describe(self) -> str:
        """Where this broker lives, password masked, for banners and logs."""
        from ..plugins import mask_url

        return mask_url(self.config.url) if self.config else "memory://"
