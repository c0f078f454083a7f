"""Framework-neutral services behind every Flowrra UI.

``UIService`` prepares each dashboard page's data, ``ScheduleService`` manages schedules,
``Formatter`` formats values, and ``BaseUIAdapter`` is what a web framework adapter
builds on. Nothing here imports a web framework: the Django dashboard
(``flowrra_django.urls``, also ``flowrra.ui.django.get_urls()``) renders these services.
"""

from .adapter import BaseUIAdapter
from .filters import InvalidFilter, TaskFilters, parse_task_filters
from .formatter import Formatter, mask_urls
from .schedule_definition import ScheduleValidationError, preview_runs
from .schedules import ScheduleService
from .service import UIService
from .workers import WorkerView

__all__ = [
    "BaseUIAdapter",
    "Formatter",
    "InvalidFilter",
    "ScheduleService",
    "ScheduleValidationError",
    "TaskFilters",
    "UIService",
    "WorkerView",
    "mask_urls",
    "parse_task_filters",
    "preview_runs",
]
