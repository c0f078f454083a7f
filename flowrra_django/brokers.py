"""The ``django://`` broker: the project's database is the queue (SQLite, PostgreSQL, or
MySQL 8 / MariaDB 10.6+). How it claims, leases, wakes and revokes, and why two workers
never claim the same message: docs/scaling.md, "The database broker".

Over 350 lines: one class, the whole broker contract on the database (produce, claim, lease,
retry, dead letters, workers); what wakes an idle worker is in :mod:`.wakeups`, the SQL
that differs by vendor in :mod:`.sql`, the dashboard's figures in :mod:`.broker_stats`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Count, Q

from flowrra import serialization
from flowrra.brokers.base import BaseBroker, Delivery, requeueable
from flowrra.brokers.stats import WORKER_RETENTION, DeadLetter, QueueLevel
from flowrra.serialization import dumps
from flowrra.task import Task, TaskResult, utcnow

from . import broker_stats, sql
from .backends import DatabaseBackend
from .database_thread import UsesDatabase, database_thread
from .models import DeadLetter as DeadLetterRow
from .models import QueuedMessage, WorkerHeartbeat
from .wakeups import CHANNEL, Wakeups

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from flowrra.backends.base import BaseResultBackend
    from flowrra.config import BrokerConfig

logger = logging.getLogger(__name__)

_INSERT_FIELDS = [
    "task_id",
    "queue",
    "priority",
    "ready",
    "available_at",
    "payload",
    "deliveries",
    "revoked",
    "created_at",
]


class DatabaseBroker(UsesDatabase, BaseBroker):
    """Task messages in the ``QueuedMessage`` table of the database the URL names; messages
    no worker can run are kept as ``DeadLetter`` rows (the newest ``dead_letter_limit``,
    at most ``dead_letter_bytes`` in all, each message cut at ``dead_message_bytes``)."""

    dead_letter_limit = 10_000
    dead_letter_bytes = 64 * 1024 * 1024
    dead_message_bytes = 1024 * 1024

    def __init__(self, config: BrokerConfig | None = None) -> None:
        super().__init__(config)
        self.visibility_timeout = config.visibility_timeout if config is not None else 3600.0
        self.consumer_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        #: :meth:`wakeup` was called: the waiting fetch returns instead of looking again.
        self._woken = False
        self.revoked_ids: set[str] = set()
        #: Messages claimed by a claim that failed half-way, to give back at the next claim.
        self._stray: set[int] = set()
        #: What ends an idle fetch early (LISTEN, the SQLite file, the newest id).
        self.wakeups = Wakeups(self.alias)

    def _messages(self) -> QuerySet[QueuedMessage]:
        return QueuedMessage.objects.using(self.alias)

    # -- producing -------------------------------------------------------------------------

    async def enqueue(self, tasks: Sequence[Task]) -> None:
        await _once_more_on_a_new_connection(self._insert, self._rows(tasks))
        self.wakeups.set()

    async def store_and_enqueue(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> None:
        """With results in the same database, the PENDING results and the messages are
        written in one transaction: one commit per submit, and never one without the other."""
        if not self.stores_with(backend):
            await super().store_and_enqueue(backend, pending, tasks)
            return
        assert isinstance(backend, DatabaseBackend)
        await _once_more_on_a_new_connection(
            self._write_and_insert, backend, pending, self._rows(tasks)
        )
        self.wakeups.set()

    def _write_and_insert(
        self, backend: DatabaseBackend, pending: Sequence[TaskResult], rows: list[tuple[Any, ...]]
    ) -> None:
        # inside the caller's transaction no savepoint (two more statements): a failure
        # here dooms that transaction, as a failed statement does on PostgreSQL
        with transaction.atomic(using=self.alias, savepoint=False):
            backend.write(pending)
            self._insert(rows)

    def store_and_enqueue_here(
        self, backend: BaseResultBackend, pending: Sequence[TaskResult], tasks: Sequence[Task]
    ) -> bool:
        """:meth:`store_and_enqueue` in the calling thread, on its connection: inside its
        transaction, if one is open, the task is committed or rolled back with it. False,
        and nothing written, when results live in another store."""
        if not self.stores_with(backend):
            return False
        assert isinstance(backend, DatabaseBackend)
        connection = connections[self.alias]
        try:
            self._write_here(connection, backend, pending, tasks)
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise  # the caller's transaction is lost with the connection: theirs to retry
            logger.warning(
                "A write to the queue failed (%s); retrying once on a new connection", exc
            )
            connection.close()
            self._write_here(connection, backend, pending, tasks)
        return True

    def _write_here(
        self,
        connection: Any,
        backend: DatabaseBackend,
        pending: Sequence[TaskResult],
        tasks: Sequence[Task],
    ) -> None:
        if not pending:  # fire-and-forget: the messages alone (and their NOTIFY)
            self._insert(self._rows(tasks))
            return
        if connection.vendor != "postgresql":
            self._write_and_insert(backend, pending, self._rows(tasks))
            return
        # one statement: a round trip, where a transaction of two inserts takes five; its
        # NOTIFY is delivered when the caller's transaction (if any) commits
        inserts = [backend.result_insert(pending), self._message_insert(self._rows(tasks))]
        sql.insert_together(connection, inserts, notify=CHANNEL)

    @staticmethod
    def _rows(tasks: Sequence[Task]) -> list[tuple[Any, ...]]:
        now = time.time()
        return [
            (
                task.id,
                task.queue,
                task.priority,
                task.eta is None or task.eta <= now,
                task.eta if task.eta is not None and task.eta > now else now,
                dumps(task.to_message()),
                0,
                False,
                created,
            )
            for task in tasks
            for created in (task.submitted_at or utcnow(),)
        ]

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        connection, insert = connections[self.alias], self._message_insert(rows)
        sql.insert(connection, insert.model, insert.fields, insert.rows, notify=CHANNEL)

    def _message_insert(self, rows: list[tuple[Any, ...]]) -> sql.Insert:
        when = sql.datetime_adapter(connections[self.alias])
        return sql.Insert(QueuedMessage, _INSERT_FIELDS, [(*r[:-1], when(r[-1])) for r in rows])

    def stores_with(self, backend: BaseResultBackend) -> TypeGuard[DatabaseBackend]:
        """True when ``backend`` keeps results in this broker's database, so one
        transaction can write results and messages together."""
        return isinstance(backend, DatabaseBackend) and backend.alias == self.alias

    async def revoke(self, task_id: str) -> None:
        await database_thread.run(self._revoke, task_id)

    def _revoke(self, task_id: str) -> None:
        messages = self._messages().filter(task_id=task_id)
        messages.filter(Q(claimed_by__isnull=True) | Q(available_at__lte=time.time())).delete()
        messages.update(revoked=True)  # held by a live worker, which will skip it

    def _give_back(self, messages: QuerySet[QueuedMessage]) -> int:
        """Make held ``messages`` ready for any worker at once."""
        return messages.update(ready=True, claimed_by=None, available_at=time.time())

    # -- consuming -------------------------------------------------------------------------

    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        self._woken = False
        while True:
            mark = await self.wakeups.mark()
            deliveries, revoked = await database_thread.run(self._claim, tuple(queues), max_count)
            self._learn_revoked(revoked)
            if deliveries:
                self.wakeups.busy()
                return deliveries
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            await self.wakeups.idle(mark, left)
            if self._woken:
                return []

    def wakeup(self) -> None:
        self._woken = True
        self.wakeups.set()

    async def connect(self) -> None:
        await super().connect()
        self.wakeups.connect()

    async def close(self) -> None:
        await self.wakeups.close()
        await super().close()

    def _learn_revoked(self, held: list[str]) -> None:
        self.revoked_ids.clear()
        self.revoked_ids.update(held)

    def _held_revoked(self) -> list[str]:
        held = self._messages().filter(claimed_by=self.consumer_id, revoked=True)
        return list(held.values_list("task_id", flat=True))

    def _claim(self, queues: tuple[str, ...], max_count: int) -> tuple[list[Delivery], list[str]]:
        if self._stray:
            self._release_ids(sorted(self._stray))
            self._stray.clear()
        if not queues:  # every queue (only the in-memory broker's worker asks so today)
            queues = tuple(self._messages().values_list("queue", flat=True).distinct().order_by())
            if not queues:
                return [], self._held_revoked()
        now = time.time()
        rows = sql.claim(
            connections[self.alias],
            QueuedMessage,
            queues,
            max_count,
            self.consumer_id,
            now,
            now + self.visibility_timeout,
        )
        try:
            return self._accept(rows), self._held_revoked()
        except BaseException:
            # whatever went wrong, nothing claimed stays held by a worker that never saw it
            self._stray.update(row[0] for row in rows)
            raise

    def _accept(self, rows: list[tuple[Any, ...]]) -> list[Delivery]:
        """Deliveries of the claimed ``rows``; revoked ones are dropped and any message that
        does not decode, for whatever reason, is dead-lettered alone."""
        deliveries = []
        dropped = []
        bad: list[tuple[int, str, Any]] = []
        for row_id, _priority, payload, deliveries_so_far, revoked in rows:
            if revoked:  # revoked while a worker that has since died held it
                dropped.append(row_id)
                continue
            try:
                task = Task.from_message(_decode(payload))
            except Exception as exc:
                reason = f"malformed message: {type(exc).__name__}: {exc}"[:2000]
                logger.error("Dead-lettering message %s: %s", row_id, reason)
                bad.append((row_id, reason, payload))
                continue
            if deliveries_so_far > 1:
                logger.warning(
                    "Task %s[%s] delivered again (delivery %d): its worker stopped or died",
                    task.name,
                    task.id,
                    deliveries_so_far,
                )
            deliveries.append(Delivery(task, row_id))
        if bad:
            self._bury(bad)
        if dropped:
            sql.delete_ids(connections[self.alias], QueuedMessage, dropped)
        return deliveries

    async def store_and_ack(
        self,
        backend: BaseResultBackend,
        results: Sequence[TaskResult],
        deliveries: Sequence[Delivery],
    ) -> None:
        """With results in the same database, store them and delete their messages in one
        transaction: one commit per flush, and no result stored whose message stays."""
        if not self.stores_with(backend):
            await super().store_and_ack(backend, results, deliveries)
            return
        ids = [delivery.receipt for delivery in deliveries]
        await database_thread.run(self._store_and_delete, backend, results, ids)

    def _store_and_delete(
        self, backend: DatabaseBackend, results: Sequence[TaskResult], ids: list[int]
    ) -> None:
        with transaction.atomic(using=self.alias):
            if results:
                backend.write(results)
            if ids:
                self._delete_ids(ids)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        ids = [delivery.receipt for delivery in deliveries]
        await database_thread.run(self._delete_ids, ids)

    def _delete_ids(self, ids: list[int]) -> None:
        sql.delete_ids(connections[self.alias], QueuedMessage, ids)

    async def retry(self, delivery: Delivery, task: Task) -> None:
        # only while still ours: one given to another worker meanwhile runs there as it is
        update = self._messages().filter(pk=delivery.receipt, claimed_by=self.consumer_id).update
        now = time.time()
        await database_thread.run(
            lambda: update(
                payload=task.to_message(),
                queue=task.queue,
                priority=task.priority,
                ready=task.eta is None or task.eta <= now,
                available_at=task.eta if task.eta is not None else now,
                claimed_by=None,
                deliveries=0,  # a planned retry: its next delivery is no redelivery
            )
        )
        self.wakeups.set()

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        payload = await database_thread.run(
            lambda: self._messages().filter(pk=delivery.receipt).values_list("payload").first()
        )
        if payload is None:
            return  # no longer held here (given back meanwhile): nothing to set aside
        await database_thread.run(self._bury, [(delivery.receipt, reason, payload[0])])

    def _bury(self, bad: list[tuple[int, str, Any]]) -> None:
        """Replace the messages ``(id, reason, payload)`` by dead letters, then drop the
        oldest dead letters beyond the bounds."""
        letters = []
        now = utcnow()
        for _row_id, reason, payload in bad:
            text = payload if isinstance(payload, str) else _raw_text(payload)
            data = text.encode("utf-8", "replace")
            truncated = len(data) > self.dead_message_bytes
            if truncated:
                text = data[: self.dead_message_bytes].decode("utf-8", "ignore")
            head = _peek(text)
            letters.append(
                DeadLetterRow(
                    task_id=str(head.get("id") or "")[:255],
                    queue=str(head.get("queue") or "")[:100],
                    priority=_priority(head.get("priority")),
                    reason=reason,
                    message=text,
                    size=min(len(data), self.dead_message_bytes),
                    truncated=truncated,
                    created_at=now,
                )
            )
        dead = DeadLetterRow.objects.using(self.alias)
        with transaction.atomic(using=self.alias):
            dead.bulk_create(letters)
            sql.delete_ids(connections[self.alias], QueuedMessage, [b[0] for b in bad])
            newest = dead.order_by("-id").values_list("id", "size")[: self.dead_letter_limit + 1]
            total, cut = 0, None
            for position, (letter_id, size) in enumerate(newest):
                total += size
                if position >= self.dead_letter_limit or total > self.dead_letter_bytes:
                    cut = letter_id
                    break
            if cut is not None:
                dead.filter(id__lte=cut).delete()

    supports_dead_letters = True

    async def dead_letter_list(self, limit: int = 100) -> list[DeadLetter]:
        rows = DeadLetterRow.objects.using(self.alias).order_by("-id")[:limit]
        return [_letter(row) for row in await database_thread.run(list, rows)]

    async def requeue_dead_letter(self, letter_id: str) -> bool:
        return await database_thread.run(self._requeue_dead, letter_id)

    def _requeue_dead(self, dead_letter_id: int | str) -> bool:
        pk = _int_or_none(dead_letter_id)
        if pk is None:
            return False
        with transaction.atomic(using=self.alias):
            letter = (
                DeadLetterRow.objects.using(self.alias).select_for_update().filter(pk=pk).first()
            )
            if letter is None:
                return False
            task = requeueable(_letter(letter))
            self._insert(self._rows([task]))
            letter.delete()
        self.wakeups.set()
        return True

    async def delete_dead_letter(self, letter_id: str) -> bool:
        pk = _int_or_none(letter_id)
        if pk is None:
            return False
        letters = DeadLetterRow.objects.using(self.alias).filter(pk=pk)
        deleted, _ = await database_thread.run(letters.delete)
        return deleted > 0

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        ids = [delivery.receipt for delivery in deliveries]
        await database_thread.run(self._release_ids, ids)

    def _release_ids(self, ids: list[int]) -> None:
        for start in range(0, len(ids), sql.CHUNK):
            self._give_back(self._messages().filter(pk__in=ids[start : start + sql.CHUNK]))

    # -- sizes -----------------------------------------------------------------------------

    async def queue_sizes(self) -> dict[str, int]:
        due = self._messages().filter(Q(ready=True) | Q(available_at__lte=time.time()))
        query = due.values("queue").annotate(n=Count("id")).order_by()
        return {row["queue"]: row["n"] for row in await database_thread.run(list, query)}

    async def scheduled_count(self) -> int:
        waiting = self._messages().filter(
            ready=False, claimed_by__isnull=True, available_at__gt=time.time()
        )
        return await database_thread.run(waiting.count)

    # -- workers ---------------------------------------------------------------------------

    async def heartbeat(self, info: dict[str, Any], ttl: float) -> bool:
        """Record the worker, keep its claims, and give the messages of workers whose
        heartbeat expired back to the queue (every live worker does this)."""
        self._learn_revoked(await database_thread.run(self._heartbeat, dict(info), ttl))
        return False

    async def still_held(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        ids = [delivery.receipt for delivery in deliveries]
        mine = self._messages().filter(claimed_by=self.consumer_id)
        held: set[int] = set()
        for start in range(0, len(ids), sql.CHUNK):
            chunk = mine.filter(pk__in=ids[start : start + sql.CHUNK])
            held.update(await database_thread.run(list, chunk.values_list("pk", flat=True)))
        return [delivery for delivery in deliveries if delivery.receipt in held]

    def _heartbeat(self, info: dict[str, Any], ttl: float) -> list[str]:
        now = dt.datetime.now(dt.UTC)
        beat = WorkerHeartbeat(
            worker_id=info["id"],
            claimant=self.consumer_id,
            info=info,
            last_seen=now,
            expires_at=now + dt.timedelta(seconds=ttl),
        )
        beats = WorkerHeartbeat.objects.using(self.alias)
        messages = self._messages()
        with transaction.atomic(using=self.alias):
            beats.bulk_create(
                [beat],
                update_conflicts=True,
                # MySQL's upsert takes no conflict target (worker_id is its only unique key)
                unique_fields=["worker_id"] if _upsert_names_target(self.alias) else None,
                update_fields=["claimant", "info", "last_seen", "expires_at"],
            )
            messages.filter(claimed_by=self.consumer_id).update(
                available_at=time.time() + self.visibility_timeout
            )
            dead = beats.filter(expires_at__lt=now)
            reclaimed = self._give_back(messages.filter(claimed_by__in=dead.values("claimant")))
            # dead workers stay listed (offline) for a while, then go
            dead.filter(expires_at__lt=now - dt.timedelta(seconds=WORKER_RETENTION)).delete()
        if reclaimed:
            logger.warning("Gave %d message(s) of stopped workers back to the queue", reclaimed)
        return self._held_revoked()

    async def forget_worker(self, worker_id: str) -> None:
        """Remove a stopped worker, and give back what it still held (tasks abandoned at
        the shutdown timeout) at once."""
        await database_thread.run(self._forget, worker_id)

    def _forget(self, worker_id: str) -> None:
        WorkerHeartbeat.objects.using(self.alias).filter(worker_id=worker_id).delete()
        self._give_back(self._messages().filter(claimed_by=self.consumer_id))

    async def list_workers(self) -> list[dict[str, Any]]:
        live = WorkerHeartbeat.objects.using(self.alias).filter(
            expires_at__gt=dt.datetime.now(dt.UTC)
        )
        rows = await database_thread.run(list, live.order_by("worker_id").values_list("info"))
        return [info for (info,) in rows]

    async def workers_seen(self, retention: float) -> list[dict[str, Any]]:
        beats = WorkerHeartbeat.objects.using(self.alias)
        return await database_thread.run(broker_stats.workers_seen, beats, retention)

    async def queue_levels(self) -> list[QueueLevel]:
        return await database_thread.run(broker_stats.queue_levels, self._messages())


def _upsert_names_target(alias: str) -> bool:
    return bool(connections[alias].features.supports_update_conflicts_with_target)


async def _once_more_on_a_new_connection(fn: Callable[..., Any], *args: Any) -> None:
    """Run a write in the database thread; when the connection failed under it (the server
    ended the session, a failover), the transaction was rolled back, so run it once more on
    a fresh connection (the thread replaces a broken one before each call)."""
    try:
        await database_thread.run(fn, *args)
    except (OperationalError, InterfaceError) as exc:
        logger.warning("A write to the queue failed (%s); retrying once on a new connection", exc)
        await database_thread.run(fn, *args)


def _raw_text(payload: Any) -> str:
    try:
        return serialization.dumps(payload)
    except (TypeError, ValueError, RecursionError):
        return repr(payload)


def _peek(text: str) -> dict[str, Any]:
    """The top-level fields of a message that may be anything, for the dead letter's
    columns; nothing when it does not decode."""
    try:
        data = serialization.loads(text)
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def _letter(row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=str(row.pk),
        reason=row.reason,
        queue=row.queue,
        priority=row.priority,
        at=row.created_at.timestamp(),
        message=row.message,
        truncated=row.truncated,
    )


def _priority(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value <= 9 else 0


def _int_or_none(value: int | str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _decode(payload: Any) -> dict[str, Any]:
    data = serialization.loads(payload) if isinstance(payload, str | bytes) else payload
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data
