"""Constants for Flowrra UI."""

from __future__ import annotations

from .task import TaskStatus

#: Every task status, in the order of a task's life (Flowrra 0.1 had the first four).
TASK_STATUSES: tuple[str, ...] = tuple(status.value for status in TaskStatus)

#: Status -> the CSS class a UI shows it with (0.1's names, plus the two newer states).
STATUS_COLORS: dict[str, str] = {
    TaskStatus.PENDING.value: "yellow",
    TaskStatus.RUNNING.value: "blue",
    TaskStatus.SUCCESS.value: "success",
    TaskStatus.FAILED.value: "error",
    TaskStatus.RETRYING.value: "orange",
    TaskStatus.REVOKED.value: "gray",
}
