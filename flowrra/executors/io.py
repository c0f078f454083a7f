"""IOExecutor: async tasks run on the worker's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from ..exceptions import TaskTimeLimitExceeded
from ..task import Task
from .base import BaseTaskExecutor


class IOExecutor(BaseTaskExecutor):
    """Awaits ``async def`` tasks directly; a task past its ``timeout`` is cancelled.

    Concurrency is bounded by the worker, which runs ``io_workers`` of these at once.
    """

    kind = "io"

    def execute(self, task: Task) -> Coroutine[Any, Any, Any]:
        """The task's own coroutine, for the worker to await: without a time limit no
        coroutine of ours wraps it (a frame less for every task)."""
        func = self.registry.get(task.name).func
        if task.timeout is None:
            return func(*task.args, **task.kwargs)
        return _within(func, task, task.timeout)


async def _within(func: Callable[..., Any], task: Task, timeout: float) -> Any:
    try:
        async with asyncio.timeout(timeout) as scope:
            return await func(*task.args, **task.kwargs)
    except TimeoutError:
        if scope.expired():
            raise TaskTimeLimitExceeded(task.name, timeout) from None
        raise
