"""The dashboard's class-based views: thin, over the ``flowrra.ui`` services."""

from .access import ActionView, StaffRequiredMixin
from .overview import OverviewView
from .queues import DeadLetterActionView, QueueListView
from .schedules import (
    ScheduleActionView,
    ScheduleFormView,
    ScheduleListView,
    SchedulePreviewView,
)
from .tasks import TaskDetailView, TaskListView, TaskRetryView, TaskRevokeView
from .workers import WorkerControlView, WorkerDetailView, WorkerListView

__all__ = [
    "ActionView",
    "DeadLetterActionView",
    "OverviewView",
    "QueueListView",
    "ScheduleActionView",
    "ScheduleFormView",
    "ScheduleListView",
    "SchedulePreviewView",
    "StaffRequiredMixin",
    "TaskDetailView",
    "TaskListView",
    "TaskRetryView",
    "TaskRevokeView",
    "WorkerControlView",
    "WorkerDetailView",
    "WorkerListView",
]
