"""The ``django://`` broker: the project's database is the queue (SQLite or PostgreSQL).

Each message is a ``QueuedMessage`` row. A worker claims a batch with one statement::

    UPDATE queue SET claimed_by = me, available_at = now + visibility, deliveries + 1
    WHERE id IN (SELECT id ... WHERE queue IN (...) AND available_at <= now
                 ORDER BY priority DESC, id LIMIT n [FOR UPDATE SKIP LOCKED])
    RETURNING ...

so two workers never claim the same row: SQLite runs one writer at a time, and PostgreSQL
skips rows another transaction has locked. Every write is a single short statement (no
read-then-write transaction to upgrade on SQLite). Acknowledging deletes the rows.

A claim is a lease: each heartbeat of the worker extends it, and each heartbeat of any
worker gives the messages of workers whose heartbeat expired (three heartbeat intervals,
15 s by default) back to the queue. The visibility timeout is the backstop for a worker
that dies before its first heartbeat.

An idle worker looks at the queue every ``POLL_INTERVAL`` seconds at most, sooner when it
enqueues something itself. A revoked message is deleted; one a worker already holds in
its prefetch buffer still runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction
from django.db.models import Count

from flowrra import serialization
from flowrra.brokers.base import BaseBroker, Delivery
from flowrra.serialization import dumps
from flowrra.task import Task, utcnow

from . import sql
from .conf import flowrra_settings
from .db import database_alias, database_thread, describe_database, ping_database
from .models import QueuedMessage, WorkerHeartbeat

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from flowrra.config import BrokerConfig

logger = logging.getLogger(__name__)

_FIRST_POLL = 0.01
_INSERT_FIELDS = [
    "task_id",
    "queue",
    "priority",
    "available_at",
    "payload",
    "deliveries",
    "created_at",
]


class DatabaseBroker(BaseBroker):
    """Task messages in the ``QueuedMessage`` table of the database the URL names."""

    def __init__(self, config: BrokerConfig | None = None) -> None:
        super().__init__(config)
        self.alias = database_alias(config.url) if config is not None else "default"
        self.visibility_timeout = config.visibility_timeout if config is not None else 3600.0
        self.poll_interval = float(flowrra_settings()["POLL_INTERVAL"])
        self.consumer_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._arrived = asyncio.Event()
        self._idle_wait = _FIRST_POLL

    def _messages(self) -> QuerySet[QueuedMessage]:
        return QueuedMessage.objects.using(self.alias)

    async def connect(self) -> None:
        database_thread.acquire()

    async def close(self) -> None:
        await database_thread.release()

    async def ping(self) -> bool:
        return await database_thread.run(ping_database, self.alias)

    def describe(self) -> str:
        return describe_database(self.config.url if self.config else "django://", self.alias)

    # -- producing -------------------------------------------------------------------------

    async def enqueue(self, tasks: Sequence[Task]) -> None:
        now = time.time()
        rows = [
            (
                task.id,
                task.queue,
                task.priority,
                task.eta if task.eta is not None and task.eta > now else now,
                dumps(task.to_message()),
                0,
                created,
            )
            for task in tasks
            for created in (task.submitted_at or utcnow(),)
        ]
        await database_thread.run(self._insert, rows)
        self._arrived.set()

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        connection = connections[self.alias]
        when = sql.datetime_adapter(connection)
        rows = [(*row[:-1], when(row[-1])) for row in rows]
        sql.insert(connection, QueuedMessage, _INSERT_FIELDS, rows)

    async def revoke(self, task_id: str) -> None:
        await database_thread.run(self._messages().filter(task_id=task_id).delete)

    # -- consuming -------------------------------------------------------------------------

    async def fetch(self, queues: Sequence[str], max_count: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            self._arrived.clear()
            deliveries = await database_thread.run(self._claim, tuple(queues), max_count)
            if deliveries:
                self._idle_wait = _FIRST_POLL
                return deliveries
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            try:
                async with asyncio.timeout(min(self._idle_wait, left)):
                    await self._arrived.wait()
            except TimeoutError:
                self._idle_wait = min(self._idle_wait * 2, self.poll_interval)

    def wakeup(self) -> None:
        self._arrived.set()

    def _claim(self, queues: tuple[str, ...], max_count: int) -> list[Delivery]:
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
        deliveries = []
        malformed = []
        for row_id, _priority, payload, deliveries_so_far in rows:
            try:
                task = Task.from_message(_decode(payload))
            except ValueError as exc:
                logger.error("Dropping malformed message %s: %s", row_id, exc)
                malformed.append(row_id)
                continue
            if deliveries_so_far > 1:
                logger.warning(
                    "Task %s[%s] delivered again (delivery %d): its worker stopped or died",
                    task.name,
                    task.id,
                    deliveries_so_far,
                )
            deliveries.append(Delivery(task, row_id))
        if malformed:
            sql.delete_ids(connections[self.alias], QueuedMessage, malformed)
        return deliveries

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        ids = [delivery.receipt for delivery in deliveries]
        await database_thread.run(self._delete_ids, ids)

    def _delete_ids(self, ids: list[int]) -> None:
        sql.delete_ids(connections[self.alias], QueuedMessage, ids)

    async def retry(self, delivery: Delivery, task: Task) -> None:
        update = self._messages().filter(pk=delivery.receipt).update
        await database_thread.run(
            lambda: update(
                payload=task.to_message(),
                queue=task.queue,
                priority=task.priority,
                available_at=task.eta if task.eta is not None else time.time(),
                claimed_by=None,
            )
        )
        self._arrived.set()

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        ids = [delivery.receipt for delivery in deliveries]
        await database_thread.run(self._release_ids, ids)

    def _release_ids(self, ids: list[int]) -> None:
        now = time.time()
        for start in range(0, len(ids), sql.CHUNK):
            chunk = ids[start : start + sql.CHUNK]
            self._messages().filter(pk__in=chunk).update(claimed_by=None, available_at=now)

    # -- sizes -----------------------------------------------------------------------------

    async def queue_sizes(self) -> dict[str, int]:
        due = self._messages().filter(available_at__lte=time.time())
        query = due.values("queue").annotate(n=Count("id")).order_by()
        return {row["queue"]: row["n"] for row in await database_thread.run(list, query)}

    async def scheduled_count(self) -> int:
        waiting = self._messages().filter(claimed_by__isnull=True, available_at__gt=time.time())
        return await database_thread.run(waiting.count)

    # -- workers ---------------------------------------------------------------------------

    async def heartbeat(self, info: dict[str, Any], ttl: float) -> None:
        """Record the worker, keep its claims, and give the messages of workers whose
        heartbeat expired back to the queue (every live worker does this)."""
        await database_thread.run(self._heartbeat, dict(info), ttl)

    def _heartbeat(self, info: dict[str, Any], ttl: float) -> None:
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
                unique_fields=["worker_id"],
                update_fields=["claimant", "info", "last_seen", "expires_at"],
            )
            messages.filter(claimed_by=self.consumer_id).update(
                available_at=time.time() + self.visibility_timeout
            )
            dead = beats.filter(expires_at__lt=now)
            reclaimed = messages.filter(claimed_by__in=dead.values("claimant")).update(
                claimed_by=None, available_at=time.time()
            )
            dead.delete()
        if reclaimed:
            logger.warning("Gave %d message(s) of stopped workers back to the queue", reclaimed)

    async def forget_worker(self, worker_id: str) -> None:
        """Remove a stopped worker, and give back what it still held (tasks abandoned at
        the shutdown timeout) at once."""
        await database_thread.run(self._forget, worker_id)

    def _forget(self, worker_id: str) -> None:
        WorkerHeartbeat.objects.using(self.alias).filter(worker_id=worker_id).delete()
        self._messages().filter(claimed_by=self.consumer_id).update(
            claimed_by=None, available_at=time.time()
        )

    async def list_workers(self) -> list[dict[str, Any]]:
        live = WorkerHeartbeat.objects.using(self.alias).filter(
            expires_at__gt=dt.datetime.now(dt.UTC)
        )
        rows = await database_thread.run(list, live.order_by("worker_id").values_list("info"))
        return [info for (info,) in rows]


def _decode(payload: Any) -> dict[str, Any]:
    data = serialization.loads(payload) if isinstance(payload, str | bytes) else payload
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data
