"""The ``django://`` schedule store: ``ScheduledTask`` rows, read by ``flowrra_beat``.

The core :class:`~flowrra.scheduler.Scheduler` runs the beat; this store gives it the rows.
Each pass re-reads the due rows, so admin edits need no restart: the admin clears
``next_run_at`` when a schedule's definition changes or it is enabled, and the next pass
plans it again from the new definition; a disabled or deleted row is simply not due. Code
that changes a row's schedule should do the same (``next_run_at = None``).

Every beat claims an occurrence with one conditional update::

    UPDATE ... SET next_run_at = <next>, last_run_at = <now>, total_run_count + 1
    WHERE id = <id> AND enabled AND next_run_at = <the value it read>

so when several beats run at once, exactly one of them changes the row and submits the
task; the others update nothing and move on. A pass claims its batch in one transaction,
in id order, so two beats on PostgreSQL never wait on each other in a cycle, and commits
it only after submitting the tasks (:meth:`DjangoSchedulerBackend.firing`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone as django_timezone

from flowrra import Flowrra
from flowrra.scheduler import MissedPolicy, ScheduledTask, Scheduler, ScheduleType
from flowrra.scheduler.backends import BaseSchedulerBackend, Claim
from flowrra.scheduler.models import DEFAULT_MISFIRE_GRACE
from flowrra.task import utcnow

from . import sql
from .database_thread import database_alias, database_thread, describe_database
from .models import BeatPass
from .models import ScheduledTask as ScheduleRow

T = TypeVar("T")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class DjangoSchedulerBackend(BaseSchedulerBackend):
    """Schedules as ``ScheduledTask`` rows in the database ``url`` names (``django://`` is
    ``default``, ``django://<alias>`` another one). Ids are the rows' primary keys."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or "django://"
        self.alias = database_alias(self.url)
        self._connected = False

    def _rows(self) -> QuerySet[ScheduleRow]:
        return ScheduleRow.objects.using(self.alias)

    async def connect(self) -> None:
        if not self._connected:
            database_thread.acquire()
            self._connected = True

    async def close(self) -> None:
        if self._connected:
            self._connected = False
            await database_thread.release()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        await self.connect()
        return await database_thread.run(fn, *args)

    async def create(self, task: ScheduledTask) -> ScheduledTask:
        row = ScheduleRow(**_fields(task))
        row.name = task.name or f"{task.task_name} {task.schedule_type} {task.id[:8]}"
        await self._run(functools.partial(row.save, using=self.alias))
        return to_task(row)

    async def update(self, task: ScheduledTask) -> None:
        pk = _pk(task.id)
        changes = {**_fields(task), "updated_at": utcnow()}
        if task.name:
            changes["name"] = task.name
        updated = 0
        if pk is not None:
            updated = await self._run(
                functools.partial(self._rows().filter(pk=pk).update, **changes)
            )
        if not updated:
            raise ValueError(f"no schedule with id {task.id!r}")

    async def delete(self, task_id: str) -> bool:
        pk = _pk(task_id)
        if pk is None:
            return False
        deleted, _ = await self._run(self._rows().filter(pk=pk).delete)
        return deleted > 0

    async def get(self, task_id: str) -> ScheduledTask | None:
        pk = _pk(task_id)
        if pk is None:
            return None
        row = await self._run(self._rows().filter(pk=pk).first)
        return None if row is None else to_task(row)

    async def _tasks(self, rows: QuerySet[ScheduleRow]) -> list[ScheduledTask]:
        found: list[ScheduleRow] = await self._run(list, rows)
        return [to_task(row) for row in found]

    async def list_all(self) -> list[ScheduledTask]:
        return await self._tasks(self._rows().order_by(F("next_run_at").asc(nulls_last=True), "pk"))

    async def list_enabled(self) -> list[ScheduledTask]:
        rows = self._rows().filter(enabled=True)
        return await self._tasks(rows.order_by(F("next_run_at").asc(nulls_last=True), "pk"))

    async def list_due(self, now: dt.datetime, limit: int) -> list[ScheduledTask]:
        due = Q(next_run_at__lte=now) | Q(next_run_at__isnull=True)
        return await self._tasks(
            self._rows().filter(due, enabled=True).order_by("next_run_at", "pk")[:limit]
        )

    async def next_due_at(self) -> dt.datetime | None:
        return await self._run(self._next_due_at)

    def _next_due_at(self) -> dt.datetime | None:
        enabled = self._rows().filter(enabled=True)
        if enabled.filter(next_run_at__isnull=True).exists():
            return _EPOCH
        first: dt.datetime | None = enabled.aggregate(first=Min("next_run_at"))["first"]
        return first

    @contextlib.asynccontextmanager
    async def firing(self, app: Flowrra | None) -> AsyncIterator[bool]:
        """One transaction around the pass: its claims commit once its tasks are submitted.
        When ``app`` queues in this database too (``django://``), its messages are in the
        same transaction, so a beat killed or cut off half-way leaves nothing done; with
        another broker, a beat killed after submitting and before committing leaves the
        occurrence due, and the next pass submits it again under the same task id."""
        await self.connect()
        atomic = transaction.atomic(using=self.alias)
        await database_thread.run(atomic.__enter__)
        try:
            yield True
        except BaseException as exc:
            await database_thread.run(atomic.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await database_thread.run(atomic.__exit__, None, None, None)

    async def claim(self, claims: Sequence[Claim]) -> set[str]:
        return await self._run(self._claim, sorted(claims, key=lambda c: _pk(c.task_id) or 0))

    def _claim(self, claims: list[Claim]) -> set[str]:
        connection = connections[self.alias]
        when = sql.datetime_adapter(connection)
        table = connection.ops.quote_name(ScheduleRow._meta.db_table)
        update = (
            f"UPDATE {table} SET next_run_at = %s, enabled = %s, "
            "last_run_at = COALESCE(%s, last_run_at), total_run_count = total_run_count + %s "
            "WHERE id = %s AND enabled = %s AND next_run_at "
        )
        won: set[str] = set()
        with transaction.atomic(using=self.alias), connection.cursor() as cursor:
            for claim in claims:
                fired_at = claim.at if claim.fired else None
                values = [
                    when(claim.next_run_at),
                    claim.next_run_at is not None,
                    when(fired_at),
                    int(claim.fired),
                    _pk(claim.task_id),
                    True,
                ]
                if claim.expected is None:
                    cursor.execute(update + "IS NULL", values)
                else:
                    cursor.execute(update + "= %s", [*values, when(claim.expected)])
                if cursor.rowcount:
                    won.add(claim.task_id)
        return won

    async def record_pass(self, beat: str, at: dt.datetime) -> None:
        def record() -> None:
            BeatPass.objects.using(self.alias).update_or_create(
                beat=beat[:200], defaults={"last_pass_at": at}
            )

        await self._run(record)

    async def last_pass(self) -> dt.datetime | None:
        def latest() -> dt.datetime | None:
            rows = BeatPass.objects.using(self.alias).order_by("-last_pass_at")
            return rows.values_list("last_pass_at", flat=True).first()

        return await self._run(latest)

    async def clear(self) -> int:
        deleted, _ = await self._run(self._rows().all().delete)
        return deleted

    def describe(self) -> str:
        return describe_database(self.url, self.alias)


def to_task(row: ScheduleRow) -> ScheduledTask:
    """The core view of a row; a blank time zone is ``settings.TIME_ZONE``."""
    return ScheduledTask(
        id=str(row.pk),
        task_name=row.task_name,
        schedule_type=ScheduleType(row.schedule_type),
        schedule=row.schedule,
        args=tuple(row.args or ()),
        kwargs=dict(row.kwargs or {}),
        enabled=row.enabled,
        last_run_at=_aware(row.last_run_at),
        next_run_at=_aware(row.next_run_at),
        created_at=_aware(row.created_at) or utcnow(),
        updated_at=_aware(row.updated_at) or utcnow(),
        description=row.description or None,
        max_retries=row.max_retries,
        retry_delay=row.retry_delay,
        priority=row.priority,
        queue=row.queue or None,
        timezone=row.timezone or settings.TIME_ZONE or "UTC",
        missed_policy=MissedPolicy(row.missed_policy),
        name=row.name,
        total_run_count=row.total_run_count,
    )


def _fields(task: ScheduledTask) -> dict[str, Any]:
    """Row values for ``task``; options left as None stay empty, so each run takes the
    task's own settings as they are then."""
    return {
        "task_name": task.task_name,
        "schedule_type": task.schedule_type.value,
        "schedule": task.schedule,
        "timezone": "" if task.timezone == settings.TIME_ZONE else task.timezone,
        "args": list(task.args),
        "kwargs": task.kwargs,
        "queue": task.queue or "",
        "priority": task.priority,
        "max_retries": task.max_retries,
        "retry_delay": task.retry_delay,
        "enabled": task.enabled,
        "missed_policy": task.missed_policy.value,
        "description": task.description or "",
        "last_run_at": task.last_run_at,
        "next_run_at": task.next_run_at,
        "total_run_count": task.total_run_count,
    }


def _pk(task_id: str) -> int | None:
    try:
        return int(task_id)
    except (TypeError, ValueError):
        return None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or django_timezone.is_aware(value):
        return value
    return django_timezone.make_aware(value)


async def start_beat(
    app: Flowrra, *, interval: float = 1.0, misfire_grace: float = DEFAULT_MISFIRE_GRACE
) -> Scheduler:
    """Start firing the project's ``ScheduledTask`` rows through ``app`` (already started)
    until the returned scheduler is stopped. ``interval`` is the longest pause between two
    looks at the rows, so it bounds how late a change made in the admin is seen."""
    scheduler = Scheduler(
        DjangoSchedulerBackend(), app=app, check_interval=interval, misfire_grace=misfire_grace
    )
    await scheduler.start()
    return scheduler


def beat_banner(scheduler: Scheduler) -> str:
    """The beat's start-banner lines: where schedules live and how often they are read."""
    return (
        f"  schedules:   {scheduler.store.describe()}\n"
        f"  beat:        looks at least every {scheduler.check_interval:g} s; a run found "
        f"more than {scheduler.misfire_grace:g} s late follows its missed policy"
    )
