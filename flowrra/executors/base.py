"""The executor interface: how a worker runs one task's function."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..registry import TaskRegistry

if TYPE_CHECKING:
    from ..config import Config
    from ..task import Task


class BaseTaskExecutor(ABC):
    """Runs registered task functions; a worker holds one executor per kind (I/O, CPU)."""

    #: Short name shown in banners and stats.
    kind: str = "base"

    def __init__(self, config: Config, registry: TaskRegistry | None = None) -> None:
        self.config = config
        self.registry = registry if registry is not None else TaskRegistry()

    async def start(self) -> None:
        """Prepare resources (process pools) before the first task."""

    async def stop(self, timeout: float | None = None) -> None:
        """Release resources; tasks still running after ``timeout`` are abandoned."""

    @abstractmethod
    async def execute(self, task: Task) -> Any:
        """Run ``task`` and return its value; raise what the task raised, or
        :class:`~flowrra.exceptions.TaskTimeLimitExceeded` when it overran ``task.timeout``."""
