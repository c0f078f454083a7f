"""ResultWriter: what a worker has decided but not yet written, and the flush that writes it.

Runners only append here; one flusher stores results, then acknowledges (one step when the
broker and backend allow), then re-enqueues retries, then emits events, so a fast task costs
no round trip of its own and a message is acknowledged only after its result is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .brokers.base import Delivery
from .events import task_update
from .outage import Outage
from .task import Success, Task, TaskResult, TaskStatus, utcnow

if TYPE_CHECKING:
    from .app import Flowrra
    from .backends.base import BaseResultBackend

logger = logging.getLogger(__name__)


class ResultWriter:
    """Batches one worker's outcomes; ``active`` maps running task ids to their start time."""

    def __init__(self, app: Flowrra, worker_id: str, active: dict[str, dt.datetime]) -> None:
        self.app = app
        self.worker_id = worker_id
        self._active = active
        self._started: list[Task] = []
        self._writes: list[TaskResult] = []
        self._successes: list[Success] = []
        self._acks: list[Delivery] = []
        self._retries: list[tuple[Delivery, Task]] = []
        self._wanted = asyncio.Event()
        #: Set while the worker's lease may have run out: each flush first asks the broker
        #: which deliveries are still this worker's.
        self.check_ownership = False
        #: Called first at each flush (the worker checks its lease there).
        self.before_flush: Callable[[], None] = lambda: None
        #: ``id()`` of deliveries that another worker took over while this one ran them.
        self._disowned: set[int] = set()
        self.outage = Outage(logger, f"Worker {worker_id}", "the broker or result store")

    @property
    def empty(self) -> bool:
        return not (self._started or self._writes or self._successes or self._acks or self._retries)

    def result(
        self,
        task: Task,
        started: dt.datetime,
        status: TaskStatus,
        value: Any = None,
        finished: dt.datetime | None = None,
    ) -> TaskResult:
        """A record of ``task`` in ``status`` written by this worker (``finished`` now,
        unless given or RUNNING)."""
        if finished is None and status is not TaskStatus.RUNNING:
            finished = utcnow()
        return TaskResult.for_task(
            task,
            status,
            started_at=started,
            worker=self.worker_id,
            result=value,
            finished_at=finished,
        )

    def started(self, task: Task) -> None:
        """``task`` began; RUNNING is stored at the next flush if it is still running then."""
        self._started.append(task)
        self._wanted.set()

    def finished(self, result: TaskResult, delivery: Delivery | None) -> None:
        """Store ``result``; then acknowledge ``delivery`` (None when a retry replaces it)."""
        self._writes.append(result)
        if delivery is not None:
            self._acks.append(delivery)
        self._wanted.set()

    def succeeded(self, task: Task, started: dt.datetime, value: Any, delivery: Delivery) -> None:
        """Store ``value`` as the result of ``task``, then acknowledge ``delivery``; the
        :class:`TaskResult` is built only for a backend that is not in this process."""
        self._successes.append((task, started, value, utcnow()))
        self._acks.append(delivery)
        self._wanted.set()

    def acknowledge(self, delivery: Delivery) -> None:
        """Acknowledge a message with nothing to store (a revoked one, a fire-and-forget
        task's success)."""
        self._acks.append(delivery)
        self._wanted.set()

    def retry(self, delivery: Delivery, next_try: Task) -> None:
        """Replace ``delivery`` by ``next_try`` once the RETRYING result is stored."""
        self._retries.append((delivery, next_try))
        self._wanted.set()

    def wake(self) -> None:
        self._wanted.set()

    def unwritten(self) -> list[Delivery]:
        """Deliveries whose outcome waits for the next flush."""
        return [*self._acks, *(delivery for delivery, _ in self._retries)]

    def disown(self, delivery: Delivery) -> None:
        """Another worker took ``delivery`` over: its outcome here is not to be stored."""
        self._disowned.add(id(delivery))

    async def run(self, done: Callable[[], bool]) -> None:
        """Flush whenever there is something to write, until ``done()`` after a flush."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            await self.flush()
            if done():
                return

    async def flush(self) -> None:
        """Store what changed since the last flush, then acknowledge, then emit events.

        A task that started and finished since the last flush is stored once, in its final
        state; its RUNNING event is still emitted, before the final one.
        """
        started, self._started = self._started, []
        writes, self._writes = self._writes, []
        successes, self._successes = self._successes, []
        acks, self._acks = self._acks, []
        retries, self._retries = self._retries, []
        active = self._active
        running = [
            self.result(task, active[task.id], TaskStatus.RUNNING)
            for task in started
            if task.id in active
        ]
        if not (running or writes or successes or acks or retries):
            return
        broker, backend = self.app.broker_required, self.app.backend_required
        while True:
            try:
                self.before_flush()
                if successes:  # stored before their acknowledgements, like the other writes
                    running, writes = self._store_successes(backend, successes, running, writes)
                    successes = []
                if self.check_ownership or self._disowned:
                    running, writes, acks, retries = await self._owned(
                        running, writes, acks, retries
                    )
                if running or writes or acks:
                    await broker.store_and_ack(
                        backend, running + writes if running else writes, acks
                    )
                for delivery, next_try in retries:
                    await broker.retry(delivery, next_try)
                break
            except Exception as exc:  # nothing is dropped: the same batch is written again
                await asyncio.sleep(self.outage.failed(exc))
        self.outage.succeeded()
        if self.app.events.has_subscribers:
            await self._emit_updates(started, running, writes)

    def _store_successes(
        self,
        backend: BaseResultBackend,
        successes: list[Success],
        running: list[TaskResult],
        writes: list[TaskResult],
    ) -> tuple[list[TaskResult], list[TaskResult]]:
        """Store ``successes`` in ``backend`` when it is in this process and takes them as
        they are; else add them to ``writes`` as results. Returns (running, writes) left to
        store."""
        if (
            self.check_ownership
            or self._disowned
            or self.app.events.has_subscribers
            or not backend.store_successes_here(self.worker_id, successes)
        ):
            finished = [
                self.result(task, began, TaskStatus.SUCCESS, value, ended)
                for task, began, value, ended in successes
            ]
            return running, writes + finished
        # a RUNNING record stored after them must not hide a success
        done = {task.id for task, _, _, _ in successes}
        return [result for result in running if result.task_id not in done], writes

    async def _owned(
        self,
        running: list[TaskResult],
        writes: list[TaskResult],
        acks: list[Delivery],
        retries: list[tuple[Delivery, Task]],
    ) -> tuple[list[TaskResult], list[TaskResult], list[Delivery], list[tuple[Delivery, Task]]]:
        """What is left to write once the outcomes of deliveries that another worker took
        over are dropped (that worker stores its own)."""
        deliveries = [*acks, *(delivery for delivery, _ in retries)]
        disowned = self._disowned
        if self.check_ownership and deliveries:
            held = {id(d) for d in await self.app.broker_required.still_held(deliveries)}
            lost = [d for d in deliveries if id(d) not in held or id(d) in disowned]
            running = []  # progress of a task that may be another worker's now: not shown
        else:
            lost = [d for d in deliveries if id(d) in disowned]
        disowned.difference_update(id(d) for d in lost)
        # taken over, or forgotten by a broker that lost its data: only a result stored by
        # another worker since says which
        lost = [d for d in lost if await self._superseded(d.task)]
        if not lost:
            return running, writes, acks, retries
        gone = {id(d) for d in lost}
        for delivery in lost:
            logger.warning(
                "Task %s[%s] ran on worker %s after its lease ran out, and another worker "
                "took its message over: the result of this run is not stored",
                delivery.task.name,
                delivery.task.id,
                self.worker_id,
            )
        acks = [d for d in acks if id(d) not in gone]
        retries = [(d, t) for d, t in retries if id(d) not in gone]
        kept = {d.task.id for d in acks} | {d.task.id for d, _ in retries}
        dropped = {d.task.id for d in lost} - kept
        writes = [w for w in writes if w.task_id not in dropped]
        running = [r for r in running if r.task_id not in dropped]
        return running, writes, acks, retries

    async def _superseded(self, task: Task) -> bool:
        stored = await self.app.backend_required.get(task.id)
        return stored is not None and stored.worker not in (None, "", self.worker_id)

    async def _emit_updates(
        self, started: list[Task], running: list[TaskResult], writes: list[TaskResult]
    ) -> None:
        events = self.app.events
        by_id = {result.task_id: result for result in running}
        finals = {result.task_id: result for result in writes}
        for task in started:
            shown = by_id.get(task.id)
            if shown is None:
                final = finals.get(task.id)
                if final is None:
                    continue
                shown = final.evolve(TaskStatus.RUNNING, finished_at=None, result=None)
            await events.emit(task_update(shown))
        for result in writes:
            await events.emit(task_update(result))
