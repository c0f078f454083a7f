"""The executor interface: how a worker runs one task's function, and (for code written
against Flowrra 0.1) an executor used on its own."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..registry import TaskRegistry
from .standalone import Standalone

if TYPE_CHECKING:
    from ..task import Task


class BaseTaskExecutor(Standalone, ABC):
    """Runs registered task functions; a worker holds one executor per kind (I/O, CPU).

    Used on its own, as in Flowrra 0.1 (``@executor.task()``, ``async with executor``,
    ``executor.submit``), an executor is a small app of its own: see
    :class:`~flowrra.executors.standalone.Standalone`.
    """

    #: Short name shown in banners and stats.
    kind: str = "base"

    def __init__(self, config: Config | None = None, registry: TaskRegistry | None = None) -> None:
        self.config = config if config is not None else Config()
        self.registry = registry if registry is not None else TaskRegistry()
        super().__init__()

    async def close(self, timeout: float | None = None) -> None:
        """Release what running tasks needs (process pools); tasks still running after
        ``timeout`` are abandoned. The worker calls it when it stops."""

    @abstractmethod
    async def execute(self, task: Task) -> Any:
        """Run ``task`` and return its value; raise what the task raised, or
        :class:`~flowrra.exceptions.TaskTimeLimitExceeded` when it overran ``task.timeout``."""
