"""Worker: fetch -> execute -> store -> ack -> emit, with heartbeats and graceful shutdown.

A worker keeps up to ``prefetch`` messages in a local buffer, runs ``io_workers`` async tasks
and ``cpu_workers`` process-pool tasks at once, and hands results, acknowledgements and
events to its :class:`~flowrra.writer.ResultWriter`, which writes them in batches. A message
is acknowledged only after its result is stored.

Why this module is over 350 lines: it is one idea, a message's way through a worker
(fetched, buffered, run, its outcome decided, handed to the writer) and the start and
graceful stop around it, whose steps share the buffers and counters they change. What
stands apart lives elsewhere: writing outcomes in :mod:`flowrra.writer`, the lease and its
heartbeats in :mod:`flowrra.lease`, remote control in :mod:`flowrra.control.commands`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Collection, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .brokers.base import Delivery
from .control.commands import RemoteControlled
from .control.listener import ControlListener
from .exceptions import TaskNotFoundError
from .executors import BaseTaskExecutor, CPUExecutor, IOExecutor
from .failures import describe_exception, retry_backoff
from .lease import LeaseKeeper
from .outage import Outage
from .serialization import check_result
from .task import Task, TaskResult, TaskStatus, utcnow
from .writer import ResultWriter

if TYPE_CHECKING:
    from .app import Flowrra

logger = logging.getLogger(__name__)


#: Messages a worker holds beyond those running, unless configured: batches amortise the
#: broker's round trips; set ``prefetch=1`` for long tasks spread over many workers.
DEFAULT_PREFETCH = 64

#: The task the current coroutine runs on behalf of, inside a worker; None elsewhere.
current_task: ContextVar[Task | None] = ContextVar("flowrra_current_task", default=None)


class Worker(LeaseKeeper, RemoteControlled):
    """Consumes ``queues`` of ``app``'s broker until stopped.

    ``burst`` makes it exit once nothing is queued and nothing runs; ``max_tasks`` makes it
    exit after that many tasks. :meth:`run` serves until one of those, or :meth:`request_stop`.
    """

    def __init__(
        self,
        app: Flowrra,
        *,
        queues: Sequence[str] | None = None,
        io_workers: int | None = None,
        cpu_workers: int | None = None,
        prefetch: int | None = None,
        burst: bool = False,
        max_tasks: int | None = None,
        heartbeat_interval: float = 5.0,
    ) -> None:
        executor_config = dataclasses.replace(
            app.config.executor,
            io_workers=io_workers or app.config.executor.io_workers,
            cpu_workers=cpu_workers or app.config.executor.cpu_workers,
        )
        config = dataclasses.replace(app.config, executor=executor_config)
        self.app = app
        configured = queues or executor_config.queues
        if configured:
            self.queues: tuple[str, ...] = tuple(configured)
        elif not app.broker_required.durable:
            self.queues = ()  # the in-process broker: every queue it holds
        else:
            self.queues = tuple(sorted({"default"} | app.registry.queues()))
        self.io_workers = executor_config.io_workers
        self.cpu_workers = executor_config.cpu_workers
        concurrency = self.io_workers + self.cpu_workers
        self.prefetch = (
            prefetch or executor_config.prefetch or max(4 * concurrency, DEFAULT_PREFETCH)
        )
        self.burst = burst
        self.max_tasks = max_tasks
        self.heartbeat_interval = heartbeat_interval
        self.hostname = socket.gethostname()
        self.id = f"{self.hostname}:{os.getpid()}:{secrets.token_hex(3)}"
        self.io_executor: BaseTaskExecutor = IOExecutor(config, app.registry)
        self.cpu_executor: BaseTaskExecutor = CPUExecutor(config, app.registry)
        self.started_at: float | None = None
        self.processed = self.succeeded = self.failed = self.retried = 0
        self.failures: deque[TaskResult] = deque(maxlen=100)
        #: Ids revoked while this worker may hold them in its buffer.
        self.revoked: set[str] = set()
        #: Names of tasks declared ``ignore_result=True`` (the registry's set, kept current).
        self._fire_and_forget = app.registry.fire_and_forget
        #: Tasks this worker scheduled a retry of, not run again here yet -> due (Unix time).
        self._retries_waiting: dict[str, float] = {}
        self._revoked_elsewhere: Collection[str] = frozenset()

        self._io_buffer: deque[Delivery] = deque()
        self._cpu_buffer: deque[Delivery] = deque()
        self._io_ready = asyncio.Event()
        self._cpu_ready = asyncio.Event()
        self._room = asyncio.Event()
        self._active: dict[str, dt.datetime] = {}
        #: Active ids this worker runs more than once at a time (an id may arrive twice) ->
        #: how many runs beyond the first.
        self._runs: dict[str, int] = {}
        #: The deliveries being run, by ``id()``.
        self._in_hand: dict[int, Delivery] = {}
        #: Set while the broker lease is known good; cleared when it may have run out.
        self._lease_ok = asyncio.Event()
        self._renewed_at: float | None = None
        self.writer = ResultWriter(app, self.id, self._active)
        self.writer.before_flush = self._doubt_lease
        #: Fetches and heartbeats that fail: one line when the broker is lost, one when back.
        self.broker_outage = Outage(logger, f"Worker {self.id}", "the broker")
        self._finished = asyncio.Event()
        self._stopping = False
        self._fetcher: asyncio.Task[None] | None = None
        self._runners: list[asyncio.Task[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        #: Remote control (flowrra.control): queues not consumed for now, async runners to
        #: retire, running tasks by id, and those terminated on request.
        self.paused: set[str] = set()
        self._io_excess = 0
        self._executions: dict[str, asyncio.Task[Any]] = {}
        self._terminated: set[str] = set()
        self._control: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._fetcher is not None and not self._stopping

    @property
    def idle(self) -> bool:
        """Nothing buffered, running or waiting to be written."""
        return not (self._io_buffer or self._cpu_buffer or self._active or not self.writer.empty)

    async def start(self) -> None:
        """Start fetching and running tasks in the background."""
        if self._fetcher is not None:
            return
        self.started_at = time.time()
        self._revoked_elsewhere = self.app.broker_required.revoked_ids
        self._stopping = False
        self._finished.clear()
        self._lease_ok.set()
        self._flusher = asyncio.create_task(
            self.writer.run(self._drained_and_stopped), name="flowrra-flusher"
        )
        self._runners = [
            asyncio.create_task(self._run_loop(self._io_buffer, self._io_ready, self.io_executor))
            for _ in range(self.io_workers)
        ] + [
            asyncio.create_task(
                self._run_loop(self._cpu_buffer, self._cpu_ready, self.cpu_executor)
            )
            for _ in range(self.cpu_workers)
        ]
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="flowrra-fetcher")
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="flowrra-heartbeat")
        self._control = ControlListener.start(self)
        await self.app.events.emit({"type": "worker.online", "worker": self.info()})

    async def run(self) -> None:
        """Serve until burst drain, ``max_tasks``, or :meth:`request_stop`; then stop gracefully."""
        await self.start()
        await self.wait_finished()
        await self.stop()

    async def wait_finished(self) -> None:
        """Return once the burst queue is drained, ``max_tasks`` ran, or a stop was requested."""
        await self._finished.wait()

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop gracefully (safe to call from a signal handler)."""
        self._finished.set()

    async def stop(
        self, *, wait: bool = True, timeout: float | None = 30.0, drain: bool = False
    ) -> None:
        """Stop fetching; finish running tasks (up to ``timeout`` when ``wait``), give buffered
        messages back to the broker, write what is pending. With ``drain`` first run everything
        already queued (the in-memory broker has nowhere else to keep it)."""
        if self._fetcher is None:
            return
        broker = self.app.broker_required
        if drain and not self._stopping:
            self.burst = True
            self._room.set()
            broker.wakeup()
            try:
                async with asyncio.timeout(timeout):
                    await self._finished.wait()
            except TimeoutError:
                logger.warning("Worker %s: queue not drained within %s s", self.id, timeout)
        self._stopping = True
        self._room.set()
        broker.wakeup()
        await _finish(self._fetcher, timeout=2.0)
        leftover = [*self._io_buffer, *self._cpu_buffer]
        self._io_buffer.clear()
        self._cpu_buffer.clear()
        self._io_ready.set()
        self._cpu_ready.set()
        self._lease_ok.set()
        if leftover:
            await self.app.broker_required.release(leftover)
        await _finish(*self._runners, timeout=timeout if wait else 0)
        self.writer.wake()
        await _finish(self._flusher, timeout=timeout)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await _finish(self._heartbeat, timeout=1.0)
        if self._control is not None:
            self._control.cancel()
            await _finish(self._control, timeout=1.0)
            self._control = None
        await self.io_executor.close(timeout)
        await self.cpu_executor.close(timeout)
        await self._report_left_behind()
        try:
            await self.app.broker_required.forget_worker(self.id)
        except Exception:
            logger.warning("Worker %s could not remove its heartbeat", self.id, exc_info=True)
        await self.app.events.emit({"type": "worker.offline", "worker": self.info()})
        self._fetcher = self._flusher = self._heartbeat = None
        self._runners = []
        self._finished.set()

    # -- fetching ----------------------------------------------------------------------------

    def _room_left(self) -> int:
        room = self.prefetch - len(self._io_buffer) - len(self._cpu_buffer)
        if self.max_tasks is not None:
            claimed = (
                self.processed + len(self._active) + len(self._io_buffer) + len(self._cpu_buffer)
            )
            room = min(room, self.max_tasks - claimed)
        return room

    async def _fetch_loop(self) -> None:
        broker = self.app.broker_required
        while not self._stopping:
            if not self._lease_ok.is_set():  # no new work while the lease may have run out
                await self._lease_ok.wait()
                continue
            room = self._room_left()
            if room <= 0:
                if self.max_tasks is not None and self.processed >= self.max_tasks:
                    self._finished.set()
                    return
                self._room.clear()
                await self._room.wait()
                continue
            # in burst mode an empty answer ends the run only once nothing is left in flight
            timeout = (0.0 if self.idle else 0.05) if self.burst else 1.0
            queues = self._consumed_queues()
            if queues is None:  # every queue paused
                await asyncio.sleep(0.1)
                continue
            try:
                deliveries = await broker.fetch(queues, room, timeout)
            except Exception as exc:
                await asyncio.sleep(self.broker_outage.failed(exc))
                continue
            self.broker_outage.succeeded()
            if deliveries:
                await self._route(deliveries)
            elif self.burst and self.idle:
                self._finished.set()
                return

    async def _route(self, deliveries: list[Delivery]) -> None:
        registry = self.app.registry
        if self.paused:  # fetched while the queue was being paused: give them back
            held = [d for d in deliveries if d.task.queue in self.paused]
            if held:
                await self.app.broker_required.release(held)
                deliveries = [d for d in deliveries if d.task.queue not in self.paused]
        io_buffer, cpu_buffer = self._io_buffer, self._cpu_buffer
        for delivery in deliveries:
            try:
                spec = registry.get(delivery.task.name)
            except TaskNotFoundError as exc:
                await self._reject_unknown(delivery, str(exc))
                continue
            (cpu_buffer if spec.cpu_bound else io_buffer).append(delivery)
        if io_buffer:
            self._io_ready.set()
        if cpu_buffer:
            self._cpu_ready.set()

    async def _reject_unknown(self, delivery: Delivery, reason: str) -> None:
        task = delivery.task
        logger.error("Worker %s: dead-lettering task %s: %s", self.id, task.id, reason)
        failed = self.writer.result(task, utcnow(), TaskStatus.FAILED)
        failed.error, failed.error_type = reason, "flowrra.TaskNotFoundError"
        await self.app.backend_required.store([failed])
        await self.app.broker_required.dead_letter(delivery, reason)
        self.processed += 1
        self.failed += 1
        self.failures.append(failed)

    # -- running -----------------------------------------------------------------------------

    async def _run_loop(
        self, buffer: deque[Delivery], ready: asyncio.Event, executor: BaseTaskExecutor
    ) -> None:
        low_water = self.prefetch // 2
        doubt_after = self._doubt_after  # _doubt_lease's test, inline: it runs for every task
        runner = asyncio.current_task()
        assert runner is not None
        while True:
            if self._io_excess and executor is self.io_executor:
                self._io_excess -= 1
                return
            if not buffer:
                if self._stopping:
                    return
                ready.clear()
                await ready.wait()
                continue
            renewed = self._renewed_at
            if renewed is not None and time.monotonic() - renewed > doubt_after:
                self._doubt_lease()
            if not self._lease_ok.is_set():  # nothing new starts while the lease is in doubt
                await self._lease_ok.wait()
                continue
            delivery = buffer.popleft()
            if len(self._io_buffer) + len(self._cpu_buffer) <= low_water:
                self._room.set()
            try:
                await self._execute(delivery, executor, runner)
            except Exception:
                task = delivery.task
                logger.exception(
                    "Worker %s: internal error around task %s[%s]; the slot goes on "
                    "(a durable broker delivers the message again once this worker stops)",
                    self.id,
                    task.name,
                    task.id,
                )

    async def _execute(
        self, delivery: Delivery, executor: BaseTaskExecutor, runner: asyncio.Task[Any]
    ) -> None:
        task = delivery.task
        task_id = task.id
        if (self.revoked and task_id in self.revoked) or task_id in self._revoked_elsewhere:
            self.revoked.discard(task_id)
            self.writer.acknowledge(delivery)
            logger.info("Task %s[%s] revoked: not run", task.name, task_id)
            return
        if self._retries_waiting:
            self._retries_waiting.pop(task_id, None)
        started = utcnow()
        clock = time.perf_counter()
        current_task.set(task)
        active, writer, in_hand = self._active, self.writer, id(delivery)
        if task_id in active:
            self._runs[task_id] = self._runs.get(task_id, 0) + 1
        active[task_id] = started
        self._in_hand[in_hand] = delivery
        # a fire-and-forget task's success is not stored, unless a failure of it was
        ignored = self._fire_and_forget
        recorded = task.current_retry or not (ignored and task.name in ignored)
        if recorded:
            writer.started(task)
        # run in this runner's own asyncio task (a no-op task then costs no task or future
        # of its own); terminate() cancels the runner while it is here
        self._executions[task_id] = runner
        try:
            value = await executor.execute(task)
            check_result(value)
        except asyncio.CancelledError:
            if task_id not in self._terminated:  # the worker itself is being stopped
                logger.warning(
                    "Worker %s abandoned running task %s[%s]%s",
                    self.id,
                    task.name,
                    task_id,
                    "" if self.app.broker_required.durable else " (in-memory broker: it is lost)",
                )
                raise
            runner.uncancel()  # this one task ends (a CPU task's process is replaced)
            self._record_terminated(delivery, started)
        except Exception as exc:
            self._record_failure(delivery, started, exc, time.perf_counter() - clock)
        else:
            if recorded:
                writer.succeeded(task, started, value, delivery)
            else:
                writer.acknowledge(delivery)
            self.succeeded += 1
            if logger.isEnabledFor(logging.INFO):
                runtime = time.perf_counter() - clock
                logger.info("Task %s[%s] succeeded in %.3f s", task.name, task_id, runtime)
        finally:
            self._executions.pop(task_id, None)
            if self._terminated:
                self._terminated.discard(task_id)
            self._ran(task_id)
            self._in_hand.pop(in_hand, None)
        self.processed += 1
        if self.max_tasks is not None and self.processed >= self.max_tasks:
            self._finished.set()

    def _ran(self, task_id: str) -> None:
        """One run of ``task_id`` ended; it stays active while another run of it goes on."""
        extra = self._runs.get(task_id)
        if extra is None:
            self._active.pop(task_id, None)
        elif extra > 1:
            self._runs[task_id] = extra - 1
        else:
            del self._runs[task_id]

    def _record_terminated(self, delivery: Delivery, started: dt.datetime) -> None:
        task = delivery.task
        result = self.writer.result(task, started, TaskStatus.REVOKED)
        result.error = "terminated by remote control"
        result.error_type = "flowrra.TaskTerminated"
        self.writer.finished(result, delivery)
        logger.warning("Task %s[%s] terminated by remote control", task.name, task.id)

    def _record_failure(
        self, delivery: Delivery, started: dt.datetime, exc: Exception, runtime: float
    ) -> None:
        task = delivery.task
        error_type, message, formatted = describe_exception(exc)
        retrying = task.current_retry < task.max_retries
        status = TaskStatus.RETRYING if retrying else TaskStatus.FAILED
        result = self.writer.result(task, started, status)
        result.error, result.error_type, result.traceback = message, error_type, formatted
        if retrying:
            attempt = task.current_retry + 1
            countdown = retry_backoff(task.retry_delay, attempt)
            result.retries = attempt
            next_try = dataclasses.replace(task, current_retry=attempt, eta=time.time() + countdown)
            self.writer.finished(result, None)
            self.writer.retry(delivery, next_try)
            self.retried += 1
            assert next_try.eta is not None
            self._retries_waiting[task.id] = next_try.eta
            logger.info(
                "Task %s[%s] failed in %.3f s (%s: %s); retry %d/%d in %.2f s",
                task.name,
                task.id,
                runtime,
                error_type,
                message,
                attempt,
                task.max_retries,
                countdown,
            )
            return
        self.writer.finished(result, delivery)
        self.failed += 1
        self.failures.append(result)
        logger.warning(
            "Task %s[%s] failed in %.3f s: %s: %s", task.name, task.id, runtime, error_type, message
        )

    async def _report_left_behind(self) -> None:
        """Log what this worker ran and what it leaves in the broker for later."""
        broker = self.app.broker_required
        try:
            sizes = await broker.queue_sizes()
            delayed = await broker.scheduled_count()
        except Exception as exc:
            logger.info(
                "Worker %s stopped; the broker could not be asked what is left: %s", self.id, exc
            )
            return
        queued = sum(n for queue, n in sizes.items() if not self.queues or queue in self.queues)
        now = time.time()
        retries = sorted(eta for eta in self._retries_waiting.values() if eta > now)
        left = []
        if queued:
            left.append(f"{queued} queued")
        if delayed:
            waiting = f"{delayed} delayed"
            if retries:
                waiting += (
                    f" ({len(retries)} of them retries of tasks run here, the next due in "
                    f"{retries[0] - now:.1f} s)"
                )
            left.append(waiting)
        logger.info(
            "Worker %s stopped after %d task(s) (%d succeeded, %d failed, %d retried); "
            "left in the broker: %s",
            self.id,
            self.processed,
            self.succeeded,
            self.failed,
            self.retried,
            ", ".join(left) or "nothing",
        )

    def _drained_and_stopped(self) -> bool:
        """The flusher's end: stopping, every runner done, nothing left to write."""
        return self._stopping and self.idle and all(runner.done() for runner in self._runners)

    # -- heartbeats (renewing the lease: .lease) ------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What UIs show about this worker."""
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "last_heartbeat": time.time(),
            "queues": list(self.queues) or ["*"],
            "concurrency": {"io": self.io_workers, "cpu": self.cpu_workers},
            "prefetch": self.prefetch,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "retried": self.retried,
            "active": list(self._active),
            "paused": sorted(self.paused),
            "broker": self.app.broker_required.describe(),
        }


async def _finish(*tasks: asyncio.Task[Any] | None, timeout: float | None) -> None:
    """Wait for ``tasks`` up to ``timeout`` seconds, then cancel the rest and reap them."""
    pending = [task for task in tasks if task is not None and not task.done()]
    if pending and (timeout is None or timeout > 0):
        _, still = await asyncio.wait(pending, timeout=timeout)
        pending = list(still)
    for late in pending:
        late.cancel()
    for task in tasks:
        if task is None:
            continue
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("Worker task %s ended with an error", task.get_name())
