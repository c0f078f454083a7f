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
from .task import Task, TaskResult, TaskStatus, utcnow

if TYPE_CHECKING:
    from .app import Flowrra

logger = logging.getLogger(__name__)


class ResultWriter:
    """Batches one worker's outcomes; ``active`` maps running task ids to their start time."""

    def __init__(self, app: Flowrra, worker_id: str, active: dict[str, dt.datetime]) -> None:
        self.app = app
        self.worker_id = worker_id
        self._active = active
        self._started: list[Task] = []
        self._writes: list[TaskResult] = []
        self._acks: list[Delivery] = []
        self._retries: list[tuple[Delivery, Task]] = []
        self._wanted = asyncio.Event()
        self.outage = Outage(logger, f"Worker {worker_id}", "the broker or result store")

    @property
    def empty(self) -> bool:
        return not (self._started or self._writes or self._acks or self._retries)

    def result(
        self, task: Task, started: dt.datetime, status: TaskStatus, value: Any = None
    ) -> TaskResult:
        """A record of ``task`` in ``status`` written by this worker."""
        result = TaskResult.for_task(task, status, started_at=started, worker=self.worker_id)
        if status is not TaskStatus.RUNNING:
            result.finished_at = utcnow()
            result.result = value
        return result

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

    def acknowledge(self, delivery: Delivery) -> None:
        """Acknowledge a message with nothing to store (a revoked one)."""
        self._acks.append(delivery)
        self._wanted.set()

    def retry(self, delivery: Delivery, next_try: Task) -> None:
        """Replace ``delivery`` by ``next_try`` once the RETRYING result is stored."""
        self._retries.append((delivery, next_try))
        self._wanted.set()

    def wake(self) -> None:
        self._wanted.set()

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
        acks, self._acks = self._acks, []
        retries, self._retries = self._retries, []
        active = self._active
        running = [
            self.result(task, active[task.id], TaskStatus.RUNNING)
            for task in started
            if task.id in active
        ]
        if not (running or writes or acks or retries):
            return
        broker = self.app.broker_required
        while True:
            try:
                if running or writes or acks:
                    await broker.store_and_ack(
                        self.app.backend_required, running + writes if running else writes, acks
                    )
                for delivery, next_try in retries:
                    await broker.retry(delivery, next_try)
                break
            except Exception as exc:  # nothing is dropped: the same batch is written again
                await asyncio.sleep(self.outage.failed(exc))
        self.outage.succeeded()
        if self.app.events.has_subscribers:
            await self._emit_updates(started, running, writes)

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
