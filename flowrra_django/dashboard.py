"""The dashboard's services in a Django process: ``flowrra.ui`` over the project's app.

Views are synchronous; the app's broker and backend live on the process's Flowrra loop
(:mod:`.runtime`), so each call runs there. Schedules are the ``ScheduledTask`` rows, read
and written through a scheduler that is never started (``flowrra_beat`` fires them); its
store is closed after each call so no database connection outlives the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from flowrra.management import FlowrraManager
from flowrra.scheduler import Scheduler
from flowrra.ui import ScheduleService, UIService

from . import runtime
from .schedule_store import DjangoSchedulerBackend

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Services:
    """The services of one call."""

    ui: UIService
    schedules: ScheduleService


def call(use: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``await use(services)`` on the app's loop and return its value."""

    async def run() -> T:
        app = runtime.get_app()
        scheduler = Scheduler(DjangoSchedulerBackend(), app=app)
        manager = FlowrraManager(app, scheduler)
        try:
            return await use(Services(UIService(manager), ScheduleService(manager)))
        finally:
            await scheduler.store.close()

    return runtime.run_sync(run)
