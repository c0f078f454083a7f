"""BaseUIAdapter: what a web framework adapter builds on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..management import FlowrraManager
from .formatter import Formatter
from .schedules import ScheduleService
from .service import UIService

if TYPE_CHECKING:
    from ..app import Flowrra


class BaseUIAdapter(ABC):
    """Base of the framework adapters: services, formatting, and the API the pages use.

    Subclasses implement :meth:`get_routes` in their framework's terms.
    """

    def __init__(self, flowrra_app: Flowrra) -> None:
        self.flowrra = flowrra_app
        self.manager = FlowrraManager(flowrra_app)
        self.ui_service = UIService(self.manager)
        self.schedule_service = ScheduleService(self.manager)

    @abstractmethod
    def get_routes(self) -> Any:
        """The framework's routes (a router, a blueprint, a list of URL patterns)."""

    @property
    def templates_dir(self) -> Path:
        return Path(__file__).resolve().parent / "templates"

    @property
    def static_dir(self) -> Path:
        return Path(__file__).resolve().parent / "static"

    async def get_dashboard_data(self) -> dict[str, Any]:
        return await self.ui_service.get_dashboard_data()

    async def get_tasks_page_data(
        self, status: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        return await self.ui_service.get_tasks_page_data(status, limit)

    async def get_schedules_page_data(self, enabled_only: bool = False) -> dict[str, Any]:
        return await self.ui_service.get_schedules_page_data(enabled_only)

    format_datetime = staticmethod(Formatter.format_datetime)
    format_duration = staticmethod(Formatter.format_duration)
    get_status_color = staticmethod(Formatter.get_status_color)

    async def get_stats(self) -> dict[str, Any]:
        return await self.manager.get_stats()

    async def health_check(self) -> dict[str, Any]:
        return await self.manager.health_check()

    async def list_tasks(self) -> list[dict[str, Any]]:
        return await self.manager.list_registered_tasks()

    async def get_task(self, task_name: str) -> dict[str, Any] | None:
        return await self.manager.get_task_info(task_name)

    async def list_schedules(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        return await self.schedule_service.list_schedules(enabled_only)

    async def get_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        return await self.schedule_service.get_schedule(schedule_id)

    async def create_schedule_cron(
        self,
        task_name: str,
        cron: str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        enabled: bool = True,
        description: str | None = None,
        priority: int = 0,
    ) -> dict[str, str]:
        return await self.schedule_service.create_schedule_cron(
            task_name, cron, args, kwargs, enabled, description, priority
        )

    async def enable_schedule(self, schedule_id: str) -> dict[str, str]:
        return await self.schedule_service.enable_schedule(schedule_id)

    async def disable_schedule(self, schedule_id: str) -> dict[str, str]:
        return await self.schedule_service.disable_schedule(schedule_id)

    async def delete_schedule(self, schedule_id: str) -> dict[str, Any]:
        return await self.schedule_service.delete_schedule(schedule_id)
