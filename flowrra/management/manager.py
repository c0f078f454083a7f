"""FlowrraManager: the read and command facade that every UI (admin, dashboard, CLI) uses."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..task import TaskStatus

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..scheduler import Scheduler


class FlowrraManager:
    """Answers questions about one app's tasks, queues and workers as JSON-ready dicts."""

    def __init__(self, app: Flowrra, scheduler: Scheduler | None = None) -> None:
        """``scheduler`` is the one whose schedules to manage (default: ``app.scheduler``);
        a web process passes one that is never started, only read and written."""
        self.app = app
        self._own_scheduler = scheduler

    async def get_stats(self) -> dict[str, Any]:
        """Task counts per status, queue depths, registered tasks and live workers."""
        app = self.app
        counts = await app.backend_required.counts()
        broker = app.broker_required
        return {
            "app": {"running": app.is_running},
            "tasks": {
                "total": sum(counts.values()),
                **{status.value: counts.get(status, 0) for status in TaskStatus},
            },
            "queues": await broker.queue_sizes(),
            "scheduled": await broker.scheduled_count(),
            "registered_tasks": len(app.registry),
            "workers": await broker.list_workers(),
            "broker": broker.describe(),
            "backend": app.backend_required.describe(),
        }

    async def list_registered_tasks(self) -> list[dict[str, Any]]:
        return [spec.describe() for spec in self.app.registry]

    async def get_task_info(self, task_name: str) -> dict[str, Any] | None:
        """The registered options of ``task_name``, or None if it is not registered."""
        if task_name not in self.app.registry:
            return None
        return self.app.registry.get(task_name).describe()

    async def _list(
        self, statuses: tuple[TaskStatus, ...], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        results = await self.app.backend_required.list(statuses, limit=limit, offset=offset)
        return [result.to_dict for result in results]

    async def list_pending_tasks(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Submitted tasks that have not started (including those waiting to be retried)."""
        return await self._list((TaskStatus.PENDING, TaskStatus.RETRYING), limit, offset)

    async def list_running_tasks(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        return await self._list((TaskStatus.RUNNING,), limit, offset)

    async def list_completed_tasks(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        return await self._list((TaskStatus.SUCCESS,), limit, offset)

    async def list_failed_tasks(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        return await self._list((TaskStatus.FAILED,), limit, offset)

    async def get_task_result(self, task_id: str) -> dict[str, Any] | None:
        result = await self.app.backend_required.get(task_id)
        return None if result is None else result.to_dict

    # -- schedules ---------------------------------------------------------------------------

    @property
    def scheduler(self) -> Scheduler | None:
        """The scheduler whose schedules this manager reads and changes, if any."""
        return self._own_scheduler or self.app.scheduler

    def scheduler_required(self) -> Scheduler:
        """:attr:`scheduler`; ``ValueError`` when there is none."""
        scheduler = self.scheduler
        if scheduler is None:
            raise ValueError("No scheduler configured: call app.create_scheduler() first")
        return scheduler

    _scheduler = scheduler_required

    async def list_schedules(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        """Every schedule (or only the enabled ones), soonest due first; [] without a scheduler."""
        if self.scheduler is None:
            return []
        store = self.scheduler.store
        tasks = await (store.list_enabled() if enabled_only else store.list_all())
        return [task.to_dict() for task in tasks]

    async def get_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        if self.scheduler is None:
            return None
        task = await self.scheduler.get_scheduled_task(schedule_id)
        return None if task is None else task.to_dict()

    async def get_scheduler_stats(self) -> dict[str, Any] | None:
        """Whether the scheduler runs, its store, and schedule counts; None without one."""
        scheduler = self.scheduler
        if scheduler is None:
            return None
        tasks = await scheduler.store.list_all()
        enabled = sum(1 for task in tasks if task.enabled)
        due = await scheduler.store.next_due_at()
        return {
            "running": scheduler.is_running,
            "backend": scheduler.store.describe(),
            "check_interval": scheduler.check_interval,
            "total_schedules": len(tasks),
            "enabled_schedules": enabled,
            "disabled_schedules": len(tasks) - enabled,
            "next_run_at": due.isoformat() if due is not None else None,
        }

    async def create_schedule_cron(
        self,
        task_name: str,
        cron: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        priority: int | None = None,
        **options: Any,
    ) -> str:
        """Create a cron schedule (see ``Scheduler.schedule_cron``); returns its id."""
        return await self._scheduler().schedule_cron(
            task_name, cron, args, kwargs, enabled, description, priority=priority, **options
        )

    async def create_schedule_interval(
        self,
        task_name: str,
        interval: float,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        priority: int | None = None,
        **options: Any,
    ) -> str:
        """Create an interval schedule (see ``Scheduler.schedule_interval``); returns its id."""
        return await self._scheduler().schedule_interval(
            task_name, interval, args, kwargs, enabled, description, priority=priority, **options
        )

    async def enable_schedule(self, schedule_id: str) -> bool:
        """Enable a schedule; False if there is none."""
        return await self._toggle(schedule_id, True)

    async def disable_schedule(self, schedule_id: str) -> bool:
        """Disable a schedule; False if there is none."""
        return await self._toggle(schedule_id, False)

    async def _toggle(self, schedule_id: str, enabled: bool) -> bool:
        scheduler = self._scheduler()
        if await scheduler.get_scheduled_task(schedule_id) is None:
            return False
        await (scheduler.enable_task if enabled else scheduler.disable_task)(schedule_id)
        return True

    async def delete_schedule(self, schedule_id: str) -> bool:
        """Delete a schedule; False if there was none."""
        return await self._scheduler().unschedule(schedule_id)

    async def health_check(self) -> dict[str, Any]:
        """``healthy`` when the broker and backend answer, else ``unhealthy`` with the reason."""
        checks: dict[str, dict[str, Any]] = {}
        app = self.app
        for name, component in (("broker", app.broker), ("backend", app.backend)):
            started = time.perf_counter()
            try:
                ok = component is not None and await component.ping()
                error = None if ok else "not connected" if component is None else "no answer"
            except Exception as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            checks[name] = {
                "ok": ok,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "error": error,
            }
        healthy = app.is_running and all(check["ok"] for check in checks.values())
        return {
            "status": "healthy" if healthy else "unhealthy",
            "running": app.is_running,
            "components": checks,
        }
