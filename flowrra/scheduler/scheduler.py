"""Scheduler: defines cron, interval and one-off schedules of registered tasks, and fires
them through its :class:`~flowrra.scheduler.beat.Beat` (the firing loop it extends).

Defining a schedule checks everything first (the task, its arguments, the options, the
expression), stores it, and wakes the beat so it is planned at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..registry import TaskRegistry, TaskSpec, validate_options
from ..serialization import transfer_arguments
from ..task import new_task_id
from .backends import BaseSchedulerBackend, create_store
from .beat import SCHEDULE_FIRED, Beat
from .clock import Clock
from .models import (
    DEFAULT_MISFIRE_GRACE,
    MissedPolicy,
    ScheduledTask,
    ScheduleType,
    normalize_schedule,
)

if TYPE_CHECKING:
    from ..app import Flowrra

__all__ = ["SCHEDULE_FIRED", "Scheduler"]


class _Fields(NamedTuple):
    """What the three ways of defining a schedule share, besides the task and its arguments."""

    task_id: str | None
    enabled: bool
    description: str | None
    max_retries: int | None
    retry_delay: float | None
    priority: int | None


class Scheduler(Beat):
    """Runs schedules kept in ``backend`` (a schedule store, or its URL) against
    ``registry``'s tasks.

    Usually made by ``app.create_scheduler()``, which submits through the app and starts
    and stops with it. The other arguments are the beat's (see :class:`Beat`).
    """

    def __init__(
        self,
        backend: BaseSchedulerBackend | str | None = None,
        registry: TaskRegistry | None = None,
        check_interval: float = 60.0,
        *,
        app: Flowrra | None = None,
        clock: Clock | None = None,
        misfire_grace: float = DEFAULT_MISFIRE_GRACE,
        batch_size: int = 500,
    ) -> None:
        super().__init__(
            create_store(backend),
            check_interval,
            app=app,
            clock=clock,
            misfire_grace=misfire_grace,
            batch_size=batch_size,
        )
        self.registry = registry if registry is not None or app is None else app.registry

    async def schedule_cron(
        self,
        task_name: str,
        cron: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        priority: int | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> str:
        """Run ``task_name`` whenever ``cron`` (five fields, read in ``timezone``, default
        UTC) matches; returns the schedule id. Keyword options: ``timezone``, ``queue``,
        ``missed_policy`` (``"run_once"`` or ``"skip"``) and ``name``.

        Raises ``ValueError`` for an invalid expression, an unknown task or option and
        ``TypeError`` for arguments that are not JSON; nothing is stored then.
        """
        fields = _Fields(task_id, enabled, description, max_retries, retry_delay, priority)
        return await self._add(ScheduleType.CRON, task_name, cron, args, kwargs, fields, options)

    async def schedule_interval(
        self,
        task_name: str,
        interval: float,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        priority: int | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> str:
        """Run ``task_name`` every ``interval`` seconds (> 0), first one interval from now;
        otherwise as :meth:`schedule_cron`."""
        fields = _Fields(task_id, enabled, description, max_retries, retry_delay, priority)
        return await self._add(
            ScheduleType.INTERVAL, task_name, interval, args, kwargs, fields, options
        )

    async def schedule_once(
        self,
        task_name: str,
        run_at: dt.datetime,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        description: str | None = None,
        max_retries: int | None = None,
        retry_delay: float | None = None,
        priority: int | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> str:
        """Run ``task_name`` once at the timezone-aware ``run_at``; the schedule is disabled
        after it ran. Otherwise as :meth:`schedule_cron`."""
        fields = _Fields(task_id, True, description, max_retries, retry_delay, priority)
        return await self._add(ScheduleType.ONCE, task_name, run_at, args, kwargs, fields, options)

    async def _add(
        self,
        kind: ScheduleType,
        task_name: str,
        schedule: Any,
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None,
        fields: _Fields,
        options: dict[str, Any],
    ) -> str:
        task = ScheduledTask(
            fields.task_id or new_task_id(),
            task_name,
            kind,
            "",
            enabled=fields.enabled,
            description=fields.description,
            max_retries=fields.max_retries,
            retry_delay=fields.retry_delay,
            priority=fields.priority,
        )
        unknown = set(options) - {"timezone", "queue", "missed_policy", "name"}
        if unknown:
            raise TypeError(
                f"unknown schedule option(s) {', '.join(sorted(unknown))}; "
                "allowed: missed_policy, name, queue, timezone"
            )
        spec = self._known_task(task.task_name)
        task.timezone = options.get("timezone") or "UTC"
        task.schedule = normalize_schedule(task.schedule_type, schedule, task.timezone)
        task.queue, task.name = options.get("queue"), options.get("name")
        task.missed_policy = _missed_policy(options.get("missed_policy", MissedPolicy.RUN_ONCE))
        validate_options(
            max_retries=task.max_retries,
            retry_delay=task.retry_delay,
            priority=task.priority,
            queue=task.queue,
        )
        task.args, task.kwargs = _json_arguments(args, kwargs)
        if spec is not None:
            spec.check_arguments(task.args, task.kwargs)
            task.task_name = spec.name
        now = self.clock.now()
        task.created_at = task.updated_at = now
        task.next_run_at = task.first_run(now) if task.enabled else None
        stored = await self.store.create(task)
        self.wake()
        return stored.id

    def _known_task(self, task_name: Any) -> TaskSpec | None:
        """The registered spec of ``task_name`` (None without a registry)."""
        if not isinstance(task_name, str) or not task_name:
            raise ValueError(f"task_name must be the name of a registered task, got {task_name!r}")
        if self.registry is None:
            return None
        if task_name not in self.registry:
            known = ", ".join(spec.name for spec in self.registry) or "none"
            raise ValueError(
                f"Task {task_name!r} is not registered (registered: {known}); "
                f"decorate the function with {self.registry.decorator}() and use its name"
            )
        return self.registry.get(task_name)

    async def unschedule(self, task_id: str) -> bool:
        """Delete a schedule; False if there was none."""
        deleted = await self.store.delete(task_id)
        self.wake()
        return deleted

    async def enable_task(self, task_id: str) -> None:
        """Enable a schedule; its next run is planned from now (a one-off whose time has
        passed runs once, per its missed policy). ``ValueError`` if there is none."""
        await self._set_enabled(task_id, True)

    async def disable_task(self, task_id: str) -> None:
        """Disable a schedule until enabled again; ``ValueError`` if there is none."""
        await self._set_enabled(task_id, False)

    async def _set_enabled(self, task_id: str, enabled: bool) -> None:
        task = await self.store.get(task_id)
        if task is None:
            raise ValueError(f"no scheduled task with id {task_id!r}")
        if task.enabled == enabled:
            return
        now = self.clock.now()
        task.enabled, task.updated_at = enabled, now
        task.next_run_at = task.first_run(now) if enabled else None
        if enabled and task.next_run_at is None:
            raise ValueError(f"the one-off schedule {task_id!r} has already run")
        await self.store.update(task)
        self.wake()

    async def get_scheduled_task(self, task_id: str) -> ScheduledTask | None:
        return await self.store.get(task_id)

    async def list_scheduled_tasks(self) -> list[ScheduledTask]:
        """Every schedule, soonest due first."""
        return await self.store.list_all()


def _missed_policy(value: Any) -> MissedPolicy:
    try:
        return MissedPolicy(value)
    except ValueError:
        raise ValueError(f"missed_policy must be 'run_once' or 'skip', got {value!r}") from None


def _json_arguments(
    args: Sequence[Any], kwargs: Mapping[str, Any] | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise TypeError(f"args must be a list or tuple of task arguments, got {args!r}")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError(f"kwargs must be a dict of keyword arguments, got {kwargs!r}")
    named = dict(kwargs or {})
    for key in named:
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"kwargs keys must be argument names, got {key!r}")
    return transfer_arguments(tuple(args), named)
