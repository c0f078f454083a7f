"""Admin for task results (filter, search, read, retry, revoke) and scheduled tasks.

Each model's admin is registered by importing its module: :mod:`.results` and
:mod:`.schedules`; :mod:`.changelist` holds what makes the result list fast on large tables.
"""

from .results import TaskResultAdmin
from .schedules import ScheduledTaskAdmin

__all__ = ["ScheduledTaskAdmin", "TaskResultAdmin"]
