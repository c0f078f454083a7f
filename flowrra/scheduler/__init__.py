"""Schedules: run registered tasks on cron expressions, fixed intervals or once.

``app.create_scheduler()`` stores schedules in ``.flowrra_schedule.db`` (SQLite) and fires
them while the app runs; ``flowrra_django`` adds the ``django://`` store and
``manage.py flowrra_beat``. Cron needs ``pip install 'flowrra[cron]'``.
"""

from .backends import SCHEDULE_STORES, BaseSchedulerBackend, Claim, MemorySchedulerBackend
from .clock import Clock, ManualClock, SystemClock
from .cron import CronExpression, next_fire_time
from .models import Decision, MissedPolicy, ScheduledTask, ScheduleType, decide, normalize_schedule
from .scheduler import SCHEDULE_FIRED, Scheduler

__all__ = [
    "SCHEDULE_FIRED",
    "SCHEDULE_STORES",
    "BaseSchedulerBackend",
    "Claim",
    "Clock",
    "CronExpression",
    "Decision",
    "ManualClock",
    "MemorySchedulerBackend",
    "MissedPolicy",
    "ScheduleType",
    "ScheduledTask",
    "Scheduler",
    "SystemClock",
    "decide",
    "next_fire_time",
    "normalize_schedule",
]
