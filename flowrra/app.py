"""Flowrra: the application object that registers tasks, submits them and runs a worker.

Over 350 lines on purpose: :class:`Flowrra` is the one object a user holds, and each of its
methods is a short front for a part that lives in its own module (the registry, the
brokers and result backends, the worker, the scheduler); split, the public API would be
scattered across mixins that mean nothing alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .backends.base import BaseResultBackend
from .brokers.base import BaseBroker
from .brokers.memory import MemoryBroker
from .config import BackendConfig, BrokerConfig, Config
from .events import EventBus, task_update
from .exceptions import (
    BrokerError,
    ExecutorNotRunningError,
    ResultNotFoundError,
    TaskFailedError,
)
from .options import SubmitOptions, Submitter
from .registry import TaskRegistry
from .serialization import transfer_arguments
from .task import FINAL_STATES, Task, TaskResult, TaskStatus, utcnow
from .worker import Worker, current_task

if TYPE_CHECKING:
    from .scheduler import Scheduler
    from .scheduler.backends import BaseSchedulerBackend

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)

_TASK_OPTIONS = frozenset(
    {"max_retries", "retry_delay", "priority", "queue", "timeout", "ignore_result"}
)
_NO_OPTIONS = SubmitOptions()


class Flowrra:
    """Unified Flowrra application for task execution.

    ``async with app:`` connects the broker and result backend and starts an in-process
    worker; async tasks run on the event loop, ``cpu_bound=True`` tasks in a process pool::

        app = Flowrra.from_urls()

        @app.task()
        async def fetch(url: str) -> int: ...

        async with app:
            task_id = await app.submit(fetch, "https://example.com")
            result = await app.wait_for_result(task_id, timeout=10)
    """

    def __init__(
        self, config: Config | None = None, *, registry: TaskRegistry | None = None
    ) -> None:
        self.config = config if config is not None else Config()
        self._registry = registry if registry is not None else TaskRegistry()
        self.events = EventBus()
        self.broker: BaseBroker | None = None
        self.backend: BaseResultBackend | None = None
        self.worker: Worker | None = None
        self._running = False
        self._scheduler: Scheduler | None = None

    @classmethod
    def from_urls(cls, broker: str | None = None, backend: str | None = None) -> Flowrra:
        """An app on the given broker and backend URLs; None means in memory."""
        return cls(
            Config(
                broker=BrokerConfig(url=broker) if broker else None,
                backend=BackendConfig(url=backend) if backend else None,
            )
        )

    # -- tasks -------------------------------------------------------------------------------

    @property
    def registry(self) -> TaskRegistry:
        """The task registry shared by both executors."""
        return self._registry

    def task(
        self, name: str | None = None, cpu_bound: bool = False, **kwargs: Any
    ) -> Callable[[F], F]:
        """Register a task: ``async def`` runs on the loop, ``cpu_bound=True`` a sync function
        in the process pool. Options: ``max_retries``, ``retry_delay``, ``priority`` (0-9,
        higher first), ``queue``, ``timeout`` (seconds) and ``ignore_result`` (store only
        failures: for fire-and-forget work)."""
        unknown = set(kwargs) - _TASK_OPTIONS
        if unknown:
            raise TypeError(
                f"unknown task option(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_TASK_OPTIONS))}"
            )
        kwargs.setdefault("max_retries", self.config.executor.max_retries)
        kwargs.setdefault("retry_delay", self.config.executor.retry_delay)
        return self._registry.task(name, cpu_bound, **kwargs)

    def options(
        self,
        *,
        priority: int | None = None,
        queue: str | None = None,
        countdown: float | None = None,
        eta: Any = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        task_id: str | None = None,
    ) -> Submitter:
        """Options for one submission: ``await app.options(priority=9).submit(fn, *args)``."""
        return Submitter(
            self,
            SubmitOptions(
                priority=priority,
                queue=queue,
                countdown=countdown,
                eta=eta,
                timeout=timeout,
                max_retries=max_retries,
                retry_delay=retry_delay,
                task_id=task_id,
            ),
        )

    async def submit(
        self, task_func: Callable[..., Any] | str, /, *args: Any, **kwargs: Any
    ) -> str:
        """Submit a registered task (function or name) with its arguments; returns the task id.

        Arguments must fit the function's signature and be JSON-encodable (plus datetime,
        date, UUID, Decimal); otherwise a ``TypeError`` names the task and the problem, and
        nothing is enqueued. Options such as priority or a
        countdown go through :meth:`options`, never through ``kwargs``.
        """
        task = self.prepare(task_func, args, kwargs)
        await self.send((task,))
        return task.id

    async def submit_many(
        self,
        calls: Iterable[
            tuple[Callable[..., Any] | str, Sequence[Any], Mapping[str, Any], SubmitOptions | None]
        ],
    ) -> list[str]:
        """Submit many tasks with one write to the result backend and one to the broker;
        ``calls`` are ``(task, args, kwargs, options)`` (options may be None). Returns the
        task ids in order. Every call is checked first: one that is not registered or not
        JSON raises, and then nothing is submitted."""
        if not self._running:
            raise ExecutorNotRunningError()
        now = utcnow()
        tasks = [
            self.prepare(task_func, tuple(args), dict(kwargs), options, now)
            for task_func, args, kwargs, options in calls
        ]
        if tasks:
            await self.send(tasks)
        return [task.id for task in tasks]

    def prepare(
        self,
        task_func: Callable[..., Any] | str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: SubmitOptions | None = None,
        now: dt.datetime | None = None,
    ) -> Task:
        """The task message for ``task_func(*args, **kwargs)``, checked and not yet sent
        (:meth:`send` sends it): an unregistered task raises ``TaskNotFoundError``,
        arguments that do not fit the signature or are not JSON raise ``TypeError``. Needs
        no running app."""
        spec = self._registry.resolve(task_func)
        spec.check_arguments(args, kwargs)
        args, kwargs = transfer_arguments(args, kwargs)
        return (options or _NO_OPTIONS).task_for(spec, args, kwargs, now or utcnow())

    def pending_records(self, tasks: Sequence[Task]) -> list[TaskResult]:
        """The PENDING records a submit of ``tasks`` stores: none for a task declared
        ``ignore_result=True`` (fire-and-forget)."""
        return _pending(self._recorded(tasks))

    def _recorded(self, tasks: Sequence[Task]) -> Sequence[Task]:
        """``tasks`` but those declared ``ignore_result=True``: whose results are stored."""
        ignored = self._registry.fire_and_forget
        return [task for task in tasks if task.name not in ignored] if ignored else tasks

    async def send(self, tasks: Sequence[Task]) -> None:
        """Record prepared ``tasks`` as PENDING and enqueue them, in one step where the
        broker can; if that fails, record them FAILED and raise ``BrokerError``."""
        broker, backend = self.broker, self.backend
        if broker is None or backend is None or not self._running:
            raise ExecutorNotRunningError()
        recorded = self._recorded(tasks)
        # built only when needed: an in-process backend records PENDING from the tasks
        pending = _pending(recorded) if self.events.has_subscribers else None
        if pending:  # before the enqueue, so before any worker's events
            for result in pending:
                await self.events.emit(task_update(result))
        try:
            if current_task.get() is None:  # inside a task, waiting could deadlock the worker
                await broker.wait_for_capacity()
            if not recorded or backend.store_pending_here(recorded):
                await broker.enqueue(tasks)
            else:
                await broker.store_and_enqueue(backend, pending or _pending(recorded), tasks)
        except Exception as exc:
            await self.record_unsent(pending or _pending(recorded), f"could not enqueue: {exc}")
            if isinstance(exc, BrokerError):
                raise
            what = repr(tasks[0].name) if len(tasks) == 1 else f"{len(tasks)} tasks"
            raise BrokerError(f"could not enqueue task {what}: {exc}") from exc

    async def record_unsent(self, pending: Sequence[TaskResult], error: str) -> None:
        """Store and announce ``pending`` as FAILED with ``error``, as far as the backend
        lets us (it may be what failed)."""
        failed = []
        for result in pending:
            failure = result.evolve(TaskStatus.FAILED, finished_at=utcnow())
            failure.error = error
            failure.error_type = "flowrra.BrokerError"
            failed.append(failure)
        try:
            await self.backend_required.store(failed)
        except Exception as exc:
            logger.error("Could not record %d unsent task(s) as failed: %s", len(failed), exc)
        if self.events.has_subscribers:
            for result in failed:
                await self.events.emit(task_update(result))

    # -- results -----------------------------------------------------------------------------

    async def get_result(self, task_id: str) -> TaskResult | None:
        """The stored result of ``task_id`` in whatever state it is, or None."""
        return await self.backend_required.get(task_id)

    async def wait_for_result(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Wait until the task is complete (success, failed or revoked) and return its result.

        Raises ``TaskTimeoutError`` after ``timeout`` seconds and ``ResultNotFoundError`` for
        an id with no stored result.
        """
        backend = self.backend
        if backend is None:
            raise ExecutorNotRunningError()
        result = await backend.get(task_id)
        if result is None:
            raise ResultNotFoundError(task_id)
        if result.status in FINAL_STATES:
            return result
        return await backend.wait(task_id, timeout)

    async def revoke(self, task_id: str) -> bool:
        """Stop a task that has not started: it ends REVOKED and no worker runs it.

        Returns False when it is already running or finished (a running task is not
        interrupted).
        """
        result = await self.backend_required.get(task_id)
        if result is None:
            raise ResultNotFoundError(task_id)
        if result.status not in (TaskStatus.PENDING, TaskStatus.RETRYING):
            return False
        await self.broker_required.revoke(task_id)
        if self.worker is not None:
            self.worker.revoked.add(task_id)
        revoked = result.evolve(TaskStatus.REVOKED, finished_at=utcnow())
        await self.backend_required.store((revoked,))
        await self.events.emit(task_update(revoked))
        return True

    async def join(self, timeout: float | None = None, *, raise_errors: bool = True) -> None:
        """Wait until every queued, delayed and running task is done (a test helper for the
        in-process worker); then raise ``TaskFailedError`` for the first task that failed
        since the previous ``join``."""
        worker = self.worker
        if worker is None:
            raise ExecutorNotRunningError("join() needs the in-process worker: start the app first")
        async with asyncio.timeout(timeout):
            await self._until_done(worker)
        failures = list(worker.failures)
        worker.failures.clear()
        if raise_errors and failures:
            first = failures[0]
            raise TaskFailedError(
                first.task_id, first.task_name or "?", f"{first.error_type}: {first.error}"
            )

    async def _until_done(self, worker: Worker) -> None:
        """Return once nothing is queued, delayed, running or waiting to be written."""
        broker = self.broker_required
        while True:
            sizes = await broker.queue_sizes()
            scheduled = await broker.scheduled_count()
            if not any(sizes.values()) and not scheduled and worker.idle:
                return
            await asyncio.sleep(0.005)

    # -- scheduling --------------------------------------------------------------------------

    @property
    def scheduler(self) -> Scheduler | None:
        """The scheduler from :meth:`create_scheduler` (or ``SchedulerConfig(enabled=True)``)."""
        return self._scheduler

    def create_scheduler(
        self,
        backend: BaseSchedulerBackend | str | None = None,
        check_interval: float = 60.0,
        **options: Any,
    ) -> Scheduler:
        """A scheduler that submits this app's tasks and starts and stops with the app.

        ``backend`` is a store instance or URL (``sqlite:///path.db``, ``postgresql://...``,
        ``mysql://...``, ``memory://``, ``django://``); None means ``.flowrra_schedule.db``.
        ``check_interval`` bounds how late a change made by another process is seen.
        ``options`` go to :class:`~flowrra.scheduler.Scheduler` (``clock``, ``misfire_grace``).
        """
        from .scheduler import Scheduler

        self._scheduler = Scheduler(backend, check_interval=check_interval, app=self, **options)
        return self._scheduler

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def broker_required(self) -> BaseBroker:
        """The connected broker; ``ExecutorNotRunningError`` before :meth:`start`."""
        if self.broker is None:
            raise ExecutorNotRunningError()
        return self.broker

    @property
    def backend_required(self) -> BaseResultBackend:
        """The result backend; ``ExecutorNotRunningError`` before :meth:`start`."""
        if self.backend is None:
            raise ExecutorNotRunningError()
        return self.backend

    @property
    def is_running(self) -> bool:
        return self._running

    async def start(self, *, worker: bool = True) -> None:
        """Connect the broker and backend; with ``worker`` (the default) also consume tasks in
        this process. A producer-only process (a web server) passes ``worker=False``."""
        if self._running:
            return
        if self.broker is None:
            self.broker = self.config.create_broker() or MemoryBroker(
                max_size=self.config.executor.max_queue_size
            )
        if self.backend is None:
            self.backend = self.config.create_backend()
        await self.broker.connect()
        await self.backend.connect()
        self._running = True
        if worker:
            self.worker = Worker(self)
            await self.worker.start()
        settings = self.config.scheduler
        if self._scheduler is None and settings is not None and settings.enabled:
            self.create_scheduler(settings.create_backend(), settings.check_interval)
        if self._scheduler is not None:
            await self._scheduler.start()

    async def stop(self, wait: bool = True, timeout: float | None = 30.0) -> None:
        """Stop the Flowrra application and all executors.

        With ``wait``, running tasks may finish within ``timeout`` seconds, and on the
        in-memory broker the tasks already queued, delayed (a countdown, a retry's back-off)
        or running are run first, for up to ``timeout`` seconds in all; durable brokers keep
        queued tasks for the next worker.
        """
        if not self._running:
            return
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self.worker is not None and wait and not self.broker_required.durable:
            try:
                async with asyncio.timeout(timeout):
                    await self._until_done(self.worker)
            except TimeoutError:
                pass  # what is left is reported below
        if self.worker is not None:
            await self.worker.stop(
                wait=wait, timeout=timeout, drain=wait and not self.broker_required.durable
            )
            self.worker = None
        self._running = False
        broker = self.broker_required
        if not broker.durable:
            left = sum((await broker.queue_sizes()).values()) + await broker.scheduled_count()
            if left:
                logger.warning(
                    "Stopping with %d task(s) left in the in-memory broker: lost%s",
                    left,
                    f" (not done within the {timeout:g} s bound)" if wait and timeout else "",
                )
        await broker.close()
        await self.backend_required.close()

    async def __aenter__(self) -> Flowrra:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(wait=exc_type is None)


def _pending(tasks: Sequence[Task]) -> list[TaskResult]:
    """The PENDING record of each of ``tasks``."""
    return [TaskResult.for_task(task, TaskStatus.PENDING) for task in tasks]
