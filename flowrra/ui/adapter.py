"""BaseUIAdapter: what a web framework adapter builds on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .formatter import Formatter

if TYPE_CHECKING:
    from ..app import Flowrra
    from .web import Request


class BaseUIAdapter(ABC):
    """Base of the framework adapters: services, formatting, and the API the pages use.

    Subclasses implement :meth:`get_routes` in their framework's terms, over
    ``self.dashboard`` (a :class:`~flowrra.ui.web.Dashboard`, made from ``options``:
    ``authorize``, ``api_tokens``, ``timezone``, ``scheduler``, ``poll_seconds``,
    ``websocket_path``).
    """

    #: The call a user makes for this adapter's routes (refusals name it).
    factory = "get_routes"
    #: How its pages stay current: ``"websocket"``, ``"poll"`` or ``"off"``.
    live = "websocket"

    def __init__(self, flowrra_app: Flowrra, **options: Any) -> None:
        from .web import Dashboard

        self.flowrra = flowrra_app
        self.dashboard = Dashboard(flowrra_app, factory=self.factory, live=self.live, **options)
        self.manager = self.dashboard.manager
        self.ui_service = self.dashboard.ui
        self.schedule_service = self.dashboard.schedules

    @abstractmethod
    def get_routes(self) -> Any:
        """The framework's routes (a router, a blueprint, a list of URL patterns)."""

    @property
    def templates_dir(self) -> Path:
        from .web.rendering import TEMPLATES_DIR

        return TEMPLATES_DIR

    @property
    def static_dir(self) -> Path:
        from .web.site import STATIC_DIR

        return STATIC_DIR

    def dashboard_request(
        self,
        *,
        method: str,
        path: str,
        url_path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        authorized: bool | None,
    ) -> Request:
        """The framework-neutral request of one served at ``url_path`` whose part inside
        the dashboard is ``path``."""
        from .web import Request

        return Request(
            method=method,
            path=path,
            base=url_path[: len(url_path) - len(path)],
            query=query,
            headers=headers,
            body=body,
            authorized=authorized,
        )

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
