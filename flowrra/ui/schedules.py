"""ScheduleService: list, read, create, edit, enable, disable, delete and run schedules,
and preview when a definition would run. Reading and checking a definition is
:mod:`flowrra.ui.schedule_definition`'s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..scheduler.models import ScheduleType, normalize_schedule
from ..task import utcnow
from .schedule_definition import ScheduleConflict, ScheduleDraft, preview, read_definition

if TYPE_CHECKING:
    from ..management import FlowrraManager


class ScheduleService:
    """Schedule operations for UIs, over :class:`FlowrraManager` and its scheduler."""

    def __init__(self, manager: FlowrraManager) -> None:
        self.manager = manager

    async def list_schedules(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        """Every schedule (or the enabled ones), soonest due first."""
        return await self.manager.list_schedules(enabled_only)

    async def get_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        return await self.manager.get_schedule(schedule_id)

    async def create_schedule_cron(
        self,
        task_name: str,
        cron: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        priority: int = 0,
    ) -> dict[str, str]:
        """Create a cron schedule; ``{"schedule_id": ...}``."""
        schedule_id = await self.manager.create_schedule_cron(
            task_name, cron, args, kwargs, enabled, description, priority
        )
        return {"schedule_id": schedule_id}

    def validate(self, data: Mapping[str, Any]) -> ScheduleDraft:
        """Check a form's values (strings, as posted); ``ScheduleValidationError`` naming
        every field that is wrong (see :func:`read_definition`)."""
        return read_definition(data, self.manager.app.registry)

    async def _check_name(self, name: str | None, exclude_id: str | None) -> None:
        if name is None:
            return
        for schedule in await self.manager.list_schedules():
            if schedule["name"] == name and schedule["id"] != exclude_id:
                raise ScheduleConflict({"name": "A schedule with this name exists."})

    async def create_schedule(self, data: Mapping[str, Any]) -> str:
        """Create a schedule from form ``data`` (any type); returns its id."""
        draft = self.validate(data)
        await self._check_name(draft.name, None)
        scheduler = self.manager.scheduler_required()
        if draft.schedule_type is ScheduleType.ONCE:
            return await scheduler.schedule_once(
                draft.task_name,
                draft.schedule,
                draft.args,
                draft.kwargs,
                description=draft.description,
                max_retries=draft.max_retries,
                retry_delay=draft.retry_delay,
                priority=draft.priority,
                timezone=draft.timezone,
                queue=draft.queue,
                missed_policy=draft.missed_policy.value,
                name=draft.name,
            )
        add = (
            scheduler.schedule_cron
            if draft.schedule_type is ScheduleType.CRON
            else scheduler.schedule_interval
        )
        return await add(
            draft.task_name,
            draft.schedule,
            draft.args,
            draft.kwargs,
            draft.enabled,
            draft.description,
            draft.max_retries,
            draft.retry_delay,
            draft.priority,
            timezone=draft.timezone,
            queue=draft.queue,
            missed_policy=draft.missed_policy.value,
            name=draft.name,
        )

    async def update_schedule(self, schedule_id: str, data: Mapping[str, Any]) -> bool:
        """Replace a schedule's definition with form ``data``; its next run is planned
        again from now. False if there is no such schedule."""
        scheduler = self.manager.scheduler_required()
        task = await scheduler.get_scheduled_task(schedule_id)
        if task is None:
            return False
        draft = self.validate(data)
        await self._check_name(draft.name, schedule_id)
        task.task_name = draft.task_name
        task.schedule_type = draft.schedule_type
        task.timezone = draft.timezone
        task.schedule = normalize_schedule(draft.schedule_type, draft.schedule, draft.timezone)
        task.args, task.kwargs = tuple(draft.args), draft.kwargs
        task.queue, task.priority = draft.queue, draft.priority
        task.max_retries, task.retry_delay = draft.max_retries, draft.retry_delay
        task.missed_policy, task.description = draft.missed_policy, draft.description
        task.name = draft.name or task.name
        now = utcnow()
        task.enabled, task.updated_at = draft.enabled, now
        task.next_run_at = task.first_run(now) if draft.enabled else None
        await scheduler.store.update(task)
        return True

    async def enable_schedule(self, schedule_id: str) -> dict[str, str]:
        """Enable a schedule; ``ValueError`` if there is none or a one-off already ran."""
        if not await self.manager.enable_schedule(schedule_id):
            raise ValueError(f"no schedule with id {schedule_id!r}")
        return {"message": f"Schedule {schedule_id} enabled"}

    async def disable_schedule(self, schedule_id: str) -> dict[str, str]:
        if not await self.manager.disable_schedule(schedule_id):
            raise ValueError(f"no schedule with id {schedule_id!r}")
        return {"message": f"Schedule {schedule_id} disabled"}

    async def delete_schedule(self, schedule_id: str) -> dict[str, Any]:
        return {"success": await self.manager.delete_schedule(schedule_id)}

    async def run_now(self, schedule_id: str) -> str | None:
        """Submit the schedule's task now with its arguments and options (its own
        timetable is unchanged); the task id, or None if there is no such schedule."""
        schedule = await self.manager.get_schedule(schedule_id)
        if schedule is None:
            return None
        submitter = self.manager.app.options(
            queue=schedule["queue"],
            priority=schedule["priority"],
            max_retries=schedule["max_retries"],
            retry_delay=schedule["retry_delay"],
        )
        return await submitter.submit(
            schedule["task_name"], *schedule["args"], **schedule["kwargs"]
        )

    def preview(
        self, data: Mapping[str, Any], now: dt.datetime | None = None
    ) -> tuple[list[dt.datetime], str | None]:
        """See :func:`preview`."""
        return preview(data, now)
