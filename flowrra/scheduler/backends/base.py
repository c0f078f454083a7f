"""The scheduler storage interface: schedules, the due query, and claims."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..models import ScheduledTask

if TYPE_CHECKING:
    from ...app import Flowrra


@dataclass(frozen=True, slots=True)
class Claim:
    """One scheduler's claim on one occurrence of a schedule.

    It succeeds only if the schedule is still enabled and its ``next_run_at`` still equals
    ``expected`` (the value the scheduler read), so when several schedulers share the store
    exactly one wins each occurrence. A winning claim moves ``next_run_at`` on (None
    disables a finished one-off); when ``fired``, it also records the run at ``at``.
    """

    task_id: str
    expected: dt.datetime | None
    next_run_at: dt.datetime | None
    fired: bool
    at: dt.datetime

    def won_by(self, task: ScheduledTask) -> bool:
        """True when ``task`` (as stored now) is still the occurrence this claim is for."""
        return task.enabled and task.next_run_at == self.expected

    def apply(self, task: ScheduledTask) -> None:
        """Record this claim's outcome on ``task``."""
        task.next_run_at = self.next_run_at
        if self.next_run_at is None:
            task.enabled = False
        if self.fired:
            task.last_run_at = self.at
            task.total_run_count += 1


class _NotAtomic(AbstractAsyncContextManager[bool]):
    async def __aenter__(self) -> bool:
        return False

    async def __aexit__(self, *exc: object) -> None:
        return None


_NOT_ATOMIC = _NotAtomic()


class BaseSchedulerBackend(ABC):
    """Where schedules are stored. Implementations: memory, SQLite, the Django ORM.

    Methods are coroutines and must not block the event loop.
    """

    async def connect(self) -> None:
        """Open the store; called by ``Scheduler.start()``."""

    def firing(self, app: Flowrra | None) -> AbstractAsyncContextManager[bool]:
        """The context of one pass's claims and submissions. A store that keeps the pass's
        claims uncommitted until its submissions are done yields True (the SQLite,
        PostgreSQL, MySQL and ``django://`` stores): a pass that fails half-way then claims
        nothing, and a beat killed after submitting and before committing leaves the
        occurrence due, so the next pass submits it again under the same task id (at least
        once; exactly once when the broker writes in the same transaction: the ``django://``
        store and broker on one database). Others (the in-memory store) yield False: claims
        commit at once and submissions follow, so a beat killed in between loses that run
        (at most once)."""
        return _NOT_ATOMIC

    async def close(self) -> None:
        """Release the store; called by ``Scheduler.stop()``."""

    @abstractmethod
    async def create(self, task: ScheduledTask) -> ScheduledTask:
        """Store a new schedule and return it as stored; ``ValueError`` if its id exists."""

    @abstractmethod
    async def update(self, task: ScheduledTask) -> None:
        """Overwrite a stored schedule; ``ValueError`` if it does not exist."""

    @abstractmethod
    async def delete(self, task_id: str) -> bool:
        """Remove a schedule; False if there was none."""

    @abstractmethod
    async def get(self, task_id: str) -> ScheduledTask | None:
        """The schedule ``task_id``, or None."""

    @abstractmethod
    async def list_all(self) -> list[ScheduledTask]:
        """Every schedule, soonest due first, those without a next run last."""

    async def list_enabled(self) -> list[ScheduledTask]:
        """The enabled schedules, soonest due first."""
        return [task for task in await self.list_all() if task.enabled]

    @abstractmethod
    async def list_due(self, now: dt.datetime, limit: int) -> list[ScheduledTask]:
        """Up to ``limit`` enabled schedules due at ``now`` (or not planned yet), soonest first."""

    @abstractmethod
    async def next_due_at(self) -> dt.datetime | None:
        """The earliest ``next_run_at`` of the enabled schedules (an enabled schedule not
        planned yet counts as due now), or None when none is enabled."""

    @abstractmethod
    async def claim(self, claims: Sequence[Claim]) -> set[str]:
        """Apply each claim atomically and conditionally; return the ids of those that won."""

    async def record_pass(self, beat: str, at: dt.datetime) -> None:
        """Note that the beat named ``beat`` finished a pass at ``at``, for health checks
        in other processes; stores that cannot keep it ignore it."""

    async def last_pass(self) -> dt.datetime | None:
        """When any beat last finished a pass, or None if unknown."""
        return None

    async def clear(self) -> int:
        """Delete every schedule; returns how many there were."""
        tasks = await self.list_all()
        for task in tasks:
            await self.delete(task.id)
        return len(tasks)

    def describe(self) -> str:
        """Where schedules live, for banners and stats."""
        return type(self).__name__
