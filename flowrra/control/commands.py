"""What remote control does inside a worker: pause and resume queues, change how many async
tasks run at once, terminate a running task (see :mod:`.listener` for how commands arrive)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..brokers.base import Delivery
    from ..executors import BaseTaskExecutor


class RemoteControlled:
    """The remote-control half of :class:`~flowrra.worker.Worker`, which provides what is
    declared here."""

    app: Flowrra
    queues: tuple[str, ...]
    io_workers: int
    io_executor: BaseTaskExecutor
    #: Queues not consumed for now, async runners to retire, the runner of each running
    #: task by id, and the ids terminated on request.
    paused: set[str]
    _io_excess: int
    _executions: dict[str, asyncio.Task[Any]]
    _terminated: set[str]
    _io_buffer: deque[Delivery]
    _io_ready: asyncio.Event
    _runners: list[asyncio.Task[None]]
    _run_loop: Callable[
        [deque[Delivery], asyncio.Event, BaseTaskExecutor], Coroutine[Any, Any, None]
    ]

    def _consumed_queues(self) -> Sequence[str] | None:
        """The queues to fetch from now; None when every one is paused."""
        if not self.paused:
            return self.queues
        queues = tuple(queue for queue in self.queues if queue not in self.paused)
        return queues or None

    def pause_queue(self, queue: str) -> None:
        """Stop taking tasks from ``queue`` (those buffered still run); ``ValueError`` if
        this worker does not consume it."""
        if queue not in self.queues:
            consumed = ", ".join(self.queues) or "every queue of the in-memory broker"
            raise ValueError(f"this worker does not consume {queue!r} (it consumes {consumed})")
        self.paused.add(queue)
        self.app.broker_required.wakeup()  # a fetch in progress returns, then skips it

    def resume_queue(self, queue: str) -> None:
        """Take tasks from a paused ``queue`` again; ``ValueError`` if it is not paused."""
        if queue not in self.paused:
            raise ValueError(f"{queue!r} is not paused")
        self.paused.discard(queue)
        self.app.broker_required.wakeup()

    def set_io_concurrency(self, value: int) -> None:
        """Run up to ``value`` (1 to 10,000) async tasks at once: runners are added now,
        or retire once their current task is done."""
        if not 1 <= value <= 10_000:
            raise ValueError(f"I/O concurrency must be from 1 to 10000, got {value}")
        change = value - self.io_workers
        if change > 0:
            retiring = min(change, self._io_excess)
            self._io_excess -= retiring
            self._runners += [
                asyncio.create_task(
                    self._run_loop(self._io_buffer, self._io_ready, self.io_executor)
                )
                for _ in range(change - retiring)
            ]
        else:
            self._io_excess -= change
            self._io_ready.set()
        self.io_workers = value

    def terminate(self, task_id: str) -> bool:
        """Stop the running task ``task_id`` now: it ends REVOKED. False if it does not
        run here."""
        runner = self._executions.get(task_id)
        if runner is None or task_id in self._terminated:
            return task_id in self._terminated
        self._terminated.add(task_id)
        runner.cancel()
        return True
