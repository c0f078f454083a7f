"""The direct route of a sync ``submit()``: the task is written in the caller's thread.

Without it, a view's ``submit()`` hops to the thread that runs the app's event loop, which
hops on to a database thread, and the view waits for both. A broker that can write from a
thread without an event loop does so here
(:meth:`~flowrra.brokers.base.BaseBroker.store_and_enqueue_here`):

* ``django://`` (results in the same database) on the caller's own connection, so inside
  ``transaction.atomic()`` the message and its PENDING result commit or roll back with the
  caller's transaction: a rolled-back view leaves nothing behind, without waiting for
  ``on_commit``. Workers see the message at the commit, and idle ones wake at once:
  PostgreSQL's ``NOTIFY`` goes in the same statement and is delivered when the transaction
  commits; on SQLite the commit changes the database file idle workers watch; on MySQL it
  raises the newest message id they look at.
* Redis (results on the same server) on a blocking connection: the same scripts and
  arguments as the async path, in one round trip.

The PENDING event is published on the app's loop, after the commit when the write joined a
transaction. Anything else goes through the loop as before.
"""

from __future__ import annotations

import asyncio
import functools

from django.db import connections, transaction

from flowrra import Flowrra
from flowrra.events import task_update
from flowrra.exceptions import BrokerError
from flowrra.task import Task, TaskResult

from . import runtime


def send_here(app: Flowrra, task: Task, using: str) -> bool:
    """Store and enqueue the prepared ``task`` from this thread (a fire-and-forget one,
    ``ignore_result=True``, only enqueued); False, with nothing written, when the broker
    cannot, or when a transaction is open on ``using`` that the write would not join (the
    caller then waits for the commit, or goes through the loop). A failed write raises
    ``BrokerError``; a call from async code ``RuntimeError``."""
    runtime.refuse_async_caller()
    loop = runtime.loop()  # the app is connected from here on
    broker, backend = app.broker_required, app.backend_required
    alias = _database_of(app)
    if connections[using].in_atomic_block and alias != using:
        return False
    pending = app.pending_records([task])  # none for a fire-and-forget task
    announce = functools.partial(_announce, app, loop, pending, alias is not None)
    if alias is None:
        announce()  # before the enqueue, so before any worker's events, as on the loop
    try:
        if not broker.store_and_enqueue_here(backend, pending, [task]):
            return False
    except Exception as exc:
        if pending and (alias is None or not connections[alias].in_atomic_block):
            # as the loop's route does; inside the caller's transaction nothing was written
            error = f"could not enqueue: {exc}"
            runtime.run_sync(lambda: app.record_unsent(pending, error))
        if isinstance(exc, BrokerError):
            raise
        raise BrokerError(f"could not enqueue task {task.name!r}: {exc}") from exc
    if alias is not None:
        transaction.on_commit(announce, using=alias)
    return True


def _database_of(app: Flowrra) -> str | None:
    """The database alias the direct route writes on: that of the ``django://`` broker
    when the results live there too; None for any other broker."""
    from .brokers import DatabaseBroker

    broker = app.broker
    if isinstance(broker, DatabaseBroker) and broker.stores_with(app.backend_required):
        return broker.alias
    return None


def _announce(
    app: Flowrra, loop: asyncio.AbstractEventLoop, pending: list[TaskResult], wake: bool
) -> None:
    """Publish the PENDING events; with ``wake``, make this process's idle worker (if any)
    look at the queue again (a task of it submitted this one)."""
    if app.events.has_subscribers:
        for result in pending:
            asyncio.run_coroutine_threadsafe(app.events.emit(task_update(result)), loop)
    if wake and app.worker is not None:
        loop.call_soon_threadsafe(app.broker_required.wakeup)
