"""How Django's task model maps onto Flowrra's: priorities, statuses and results.

Django's priorities run from -100 to 100, Flowrra's from 0 to 9 (one list per level in the
Redis broker, so a finer scale would cost a look at each level on every fetch). The mapping
never reorders: a higher Django priority never lands on a lower Flowrra level. Ten bands,
finer near the default 0 where priorities are usually chosen:

=========  ===========  =========  ===========
Django     Flowrra      Django     Flowrra
=========  ===========  =========  ===========
-100..-50  0            0          4
-49..-25   1            1..9       5
-24..-10   2            10..24     6
-9..-1     3            25..49     7
                        50..99     8
                        100        9
=========  ===========  =========  ===========

Within a band tasks run first in, first out.
"""

from __future__ import annotations

import bisect
from typing import Any

from flowrra.task import TaskResult as FlowrraResult
from flowrra.task import TaskStatus

from .tasks_compat import Task, TaskError, TaskResult, TaskResultStatus

#: The lowest Django priority of each Flowrra level 0..9.
BAND_STARTS = (-100, -49, -24, -9, 0, 1, 10, 25, 50, 100)
#: The Django priority a level stands for when the exact one is not known: its value
#: nearest to the default 0.
BAND_VALUES = (-50, -25, -10, -1, 0, 1, 10, 25, 50, 100)

STATUSES = {
    TaskStatus.PENDING: TaskResultStatus.READY,
    TaskStatus.RETRYING: TaskResultStatus.READY,
    TaskStatus.RUNNING: TaskResultStatus.RUNNING,
    TaskStatus.SUCCESS: TaskResultStatus.SUCCESSFUL,
    TaskStatus.FAILED: TaskResultStatus.FAILED,
    TaskStatus.REVOKED: TaskResultStatus.FAILED,
}


def flowrra_priority(django_priority: int) -> int:
    """Flowrra's priority level (0-9) for a Django priority (-100..100)."""
    return bisect.bisect_right(BAND_STARTS, django_priority) - 1


def django_priority(level: int, declared: int) -> int:
    """The Django priority of a task stored at Flowrra ``level``: the task's ``declared``
    one when it maps to that level, else the level's own value."""
    return declared if flowrra_priority(declared) == level else BAND_VALUES[level]


def exception_path(error_type: str) -> str:
    """The dotted path of an exception class from Flowrra's error type, which leaves out
    ``builtins.``."""
    return error_type if "." in error_type else f"builtins.{error_type}"


def attempts(result: FlowrraResult) -> int:
    """How many times the task was started."""
    if result.status in (TaskStatus.PENDING, TaskStatus.RETRYING, TaskStatus.REVOKED):
        return result.retries
    return result.retries + 1


def task_for(declared: Task, queue: str, level: int) -> Task:
    """``declared`` (the decorated task) as it was enqueued, to ``queue`` at ``level``."""
    priority = django_priority(level, declared.priority)
    if declared.queue_name == queue and declared.priority == priority:
        return declared
    return declared.using(queue_name=queue, priority=priority)


def django_result(result: FlowrraResult, task: Task, alias: str) -> TaskResult:
    """Django's view of a stored Flowrra result. ``errors`` holds the last attempt's error
    and ``worker_ids`` repeats the last worker once per attempt: Flowrra keeps no more."""
    errors = []
    if result.error_type:
        errors.append(
            TaskError(
                exception_class_path=exception_path(result.error_type),
                traceback=result.traceback or result.error or "",
            )
        )
    converted: TaskResult[Any, Any] = TaskResult(
        task=task,
        id=result.task_id,
        status=STATUSES[result.status],
        enqueued_at=result.submitted_at,
        started_at=result.started_at,
        finished_at=result.finished_at,
        last_attempted_at=result.started_at,
        args=list(result.args),
        kwargs=dict(result.kwargs),
        backend=alias,
        errors=errors,
        worker_ids=[result.worker or "unknown"] * attempts(result),
    )
    if result.status is TaskStatus.SUCCESS:
        set_return_value(converted, result.result)
    return converted


def set_return_value(result: TaskResult, value: Any) -> None:
    """Fill in the (frozen) result's return value, as Django's own backends do."""
    object.__setattr__(result, "_return_value", value)
