"""What Django code calls: the ``@task`` decorator, ``submit`` / ``asubmit``, ``revoke``.

``submit()`` inside ``transaction.atomic()`` waits for the commit by default (setting
``SUBMIT_ON_COMMIT``, or ``options(on_commit=...)`` per call): it returns the task id at
once and enqueues the task when the transaction commits, or never if it rolls back, so a
worker never sees a task whose data is not committed. ``asubmit()`` never waits: async
code cannot hold a transaction open across an ``await`` on the same connection.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar, cast, overload

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, transaction
from django.db.transaction import TransactionManagementError

from flowrra.options import SubmitOptions
from flowrra.serialization import transfer_arguments
from flowrra.task import new_task_id
from flowrra.worker import current_task

from . import runtime
from .conf import flowrra_settings
from .database_thread import database_alias

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
TaskRef = Callable[..., Any] | str

_in_pool_process = False


def mark_pool_process() -> None:
    """Record that this process is a CPU worker process (set by its initializer)."""
    global _in_pool_process
    _in_pool_process = True


# -- registering -----------------------------------------------------------------------------


@overload
def task(func: F, /) -> F: ...
@overload
def task(
    positional_name: str | None = None,
    /,
    cpu_bound: bool = False,
    *,
    name: str | None = None,
    **options: Any,
) -> Callable[[F], F]: ...
def task(
    positional_name: Any = None,
    /,
    cpu_bound: bool = False,
    *,
    name: str | None = None,
    **options: Any,
) -> Any:
    """Register a task in the project app: ``@task``, ``@task(cpu_bound=True, queue=...)``,
    ``@task(name="receipts.send")`` (or ``@task("receipts.send")``).

    The task's name is its dotted path (``shop.tasks.send_receipt``), unique across apps,
    unless ``name`` is given; its function name (``send_receipt``) finds it too while no
    other task has that name. Options are those of :meth:`flowrra.Flowrra.task`. In a
    worker, database connections the task left stale are closed after it, as Django does
    after a request.
    """
    if callable(positional_name):
        return task()(positional_name)
    name = name or positional_name

    def decorator(func: F) -> F:
        wrapped = with_connection_cleanup(func, cpu_bound)
        registry = runtime.get_app().registry
        runtime.get_app().task(name or default_name(func), cpu_bound, **options)(wrapped)
        if name is None:
            registry.add_alias(func.__name__, default_name(func))
        return wrapped

    return decorator


def default_name(func: Callable[..., Any]) -> str:
    """A task's name unless it is given one: ``module.qualname``, as in Celery and
    Django's Tasks framework."""
    return f"{func.__module__}.{func.__qualname__}"


def with_connection_cleanup(func: F, cpu_bound: bool) -> F:
    """``func`` as a task body that leaves no database connection behind: a CPU task closes
    stale ones around each run in a pool process, an async one asks for a sweep after it."""
    if cpu_bound and not inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        def run_in_pool(*args: Any, **kwargs: Any) -> Any:
            if not _in_pool_process:
                return func(*args, **kwargs)
            close_old_connections()
            try:
                return func(*args, **kwargs)
            finally:
                close_old_connections()

        return cast(F, run_in_pool)
    if not cpu_bound and inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_on_loop(*args: Any, **kwargs: Any) -> Any:
            if current_task.get() is None:
                return await func(*args, **kwargs)
            try:
                return await func(*args, **kwargs)
            finally:
                _sweeper.request()

        return cast(F, run_on_loop)
    return func  # the registry explains what is wrong with it


class _ConnectionSweeper:
    """Runs ``close_old_connections`` in the thread where async tasks' ORM calls run
    (asgiref's sync thread) after tasks finish, coalesced so a burst of tasks costs one
    thread hop, not one each."""

    def __init__(self) -> None:
        self._running: asyncio.Task[None] | None = None
        self._again = False

    def request(self) -> None:
        running = self._running
        if running is not None and not running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            self._again = False
            try:
                await sync_to_async(close_old_connections)()
            except Exception:
                logger.warning("Closing stale database connections failed", exc_info=True)
            if not self._again:
                return


_sweeper = _ConnectionSweeper()


# -- submitting ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submission:
    """Submit options for one call: ``options(priority=9, countdown=30).submit(fn, ...)``.

    ``on_commit`` None follows the ``SUBMIT_ON_COMMIT`` setting; ``using`` is the database
    alias whose transaction to wait for.
    """

    options: SubmitOptions
    on_commit: bool | None = None
    using: str = DEFAULT_DB_ALIAS

    def submit(self, fn: TaskRef, /, *args: Any, **kwargs: Any) -> str:
        """Submit ``fn(*args, **kwargs)`` from sync code; returns the task id."""
        app = runtime.get_app()
        app.registry.resolve(fn).check_arguments(args, kwargs)
        wait = self.on_commit
        if wait is None:
            wait = flowrra_settings()["SUBMIT_ON_COMMIT"]
        if wait and connections[self.using].in_atomic_block:
            args, kwargs = transfer_arguments(args, kwargs)
            options = replace(self.options, task_id=self.options.task_id or new_task_id())
            deferred = replace(self, options=options, on_commit=False)
            transaction.on_commit(
                functools.partial(deferred.submit, fn, *args, **kwargs), using=self.using
            )
            assert options.task_id is not None
            return options.task_id
        _refuse_inside_sqlite_transaction()
        submitter = app.options(**asdict(self.options))
        return runtime.run_sync(lambda: submitter.submit(fn, *args, **kwargs))

    async def asubmit(self, fn: TaskRef, /, *args: Any, **kwargs: Any) -> str:
        """Submit ``fn(*args, **kwargs)`` from async code; returns the task id."""
        submitter = runtime.get_app().options(**asdict(self.options))
        return await runtime.run_async(lambda: submitter.submit(fn, *args, **kwargs))


def _refuse_inside_sqlite_transaction() -> None:
    """SQLite has one writer, and a transaction of this thread on the broker's database
    holds it (flowrra_django makes SQLite transactions IMMEDIATE): queueing at once from
    the producer thread would wait for it forever, so say how to do it instead."""
    url = flowrra_settings()["BROKER_URL"]
    if not (isinstance(url, str) and url.lower().startswith("django://")):
        return
    connection = connections[database_alias(url)]
    if connection.vendor == "sqlite" and connection.in_atomic_block:
        raise TransactionManagementError(
            "A task cannot be queued at once inside transaction.atomic() on SQLite: the "
            "transaction holds the database's only write lock until it ends. Submit with "
            "on_commit=True (the default; it is queued when the transaction commits), or "
            "outside the transaction."
        )


def options(
    *, on_commit: bool | None = None, using: str = DEFAULT_DB_ALIAS, **kwargs: Any
) -> Submission:
    """Options for one submission: ``priority``, ``queue``, ``countdown`` or ``eta``,
    ``timeout``, ``max_retries``, ``retry_delay``, ``task_id`` (see
    :class:`flowrra.SubmitOptions`), plus ``on_commit`` and ``using``."""
    return Submission(SubmitOptions(**kwargs), on_commit, using)


_DEFAULT = Submission(SubmitOptions())


def submit(fn: TaskRef, /, *args: Any, **kwargs: Any) -> str:
    """Submit a registered task from sync code (a view, a signal, the shell); returns its id."""
    return _DEFAULT.submit(fn, *args, **kwargs)


async def asubmit(fn: TaskRef, /, *args: Any, **kwargs: Any) -> str:
    """Submit a registered task from async code (an async view, another task)."""
    return await _DEFAULT.asubmit(fn, *args, **kwargs)


def revoke(task_id: str) -> bool:
    """Stop a task that has not started (see :meth:`flowrra.Flowrra.revoke`)."""
    return runtime.run_sync(lambda: runtime.get_app().revoke(task_id))


async def arevoke(task_id: str) -> bool:
    """:func:`revoke` for async code."""
    return await runtime.run_async(lambda: runtime.get_app().revoke(task_id))
