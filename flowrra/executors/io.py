"""IOExecutor: async tasks run on the worker's own event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from ..exceptions import TaskTimeLimitExceeded
from ..task import Task
from .base import BaseTaskExecutor


class IOExecutor(BaseTaskExecutor):
    """Awaits ``async def`` tasks directly; a task past its ``timeout`` is cancelled.

    Concurrency is bounded by the worker, which runs ``io_workers`` of these at once.
    """

    kind = "io"

    async def execute(self, task: Task) -> Any:
        func = self.registry.get(task.name).func
        if task.timeout is None:
            return await func(*task.args, **task.kwargs)
        try:
            async with asyncio.timeout(task.timeout) as scope:
                return await func(*task.args, **task.kwargs)
        except TimeoutError:
            if scope.expired():
                raise TaskTimeLimitExceeded(task.name, task.timeout) from None
            raise
