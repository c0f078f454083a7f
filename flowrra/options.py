"""Per-call submit options, kept apart from a task's own arguments.

``await app.options(priority=9, countdown=30).submit(send_mail, to="a@example.com")``:
the options go to :meth:`Flowrra.options`, the task's arguments to ``submit``, so no task
keyword can ever be mistaken for an option.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .registry import TaskSpec, validate_options
from .task import Task, new_task_id

if TYPE_CHECKING:
    from .app import Flowrra


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Overrides for one submission; None keeps the task's registered default.

    ``countdown`` (seconds from now) and ``eta`` (an aware datetime) delay the task;
    ``task_id`` sets the id instead of a random UUID.
    """

    priority: int | None = None
    queue: str | None = None
    countdown: float | None = None
    eta: dt.datetime | None = None
    timeout: float | None = None
    max_retries: int | None = None
    retry_delay: float | None = None
    task_id: str | None = None

    def __post_init__(self) -> None:
        validate_options(
            priority=self.priority,
            queue=self.queue,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_delay=self.retry_delay,
        )
        if self.countdown is not None and self.eta is not None:
            raise ValueError("give countdown or eta, not both")
        if self.countdown is not None and (
            not isinstance(self.countdown, int | float) or self.countdown < 0
        ):
            raise ValueError(f"countdown must be a number of seconds >= 0, got {self.countdown!r}")
        if self.eta is not None:
            if not isinstance(self.eta, dt.datetime):
                raise ValueError(f"eta must be a datetime, got {self.eta!r}")
            if self.eta.tzinfo is None:
                raise ValueError(
                    "eta must be timezone-aware: use datetime.now(UTC) + timedelta(...) "
                    "or django.utils.timezone.now()"
                )
        if self.task_id is not None and (not isinstance(self.task_id, str) or not self.task_id):
            raise ValueError(f"task_id must be a non-empty string, got {self.task_id!r}")

    def eta_timestamp(self) -> float | None:
        """When the task becomes due, as a Unix timestamp, or None for now."""
        if self.countdown:
            return time.time() + self.countdown
        if self.eta is not None:
            return self.eta.timestamp()
        return None

    def task_for(
        self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any], now: dt.datetime
    ) -> Task:
        """The task message of ``spec`` called with (checked) ``args`` and ``kwargs`` at
        ``now``: these options where given, the task's registered defaults otherwise."""
        # positional, in Task's field order: a keyword call of it costs twice as much, and
        # this runs at every submit
        return Task(
            self.task_id or new_task_id(),
            spec.name,
            args,
            kwargs,
            spec.max_retries if self.max_retries is None else self.max_retries,
            spec.retry_delay if self.retry_delay is None else self.retry_delay,
            0,
            spec.priority if self.priority is None else self.priority,
            spec.cpu_bound,
            spec.queue if self.queue is None else self.queue,
            self.eta_timestamp() if self.countdown or self.eta is not None else None,
            spec.timeout if self.timeout is None else self.timeout,
            now,
        )


class Submitter:
    """What :meth:`Flowrra.options` returns: ``submit`` with the options applied."""

    __slots__ = ("_app", "_options")

    def __init__(self, app: Flowrra, options: SubmitOptions) -> None:
        self._app = app
        self._options = options

    async def submit(
        self, task_func: Callable[..., Any] | str, /, *args: Any, **kwargs: Any
    ) -> str:
        """Submit ``task_func(*args, **kwargs)`` with these options; returns the task id."""
        task = self._app.prepare(task_func, args, kwargs, self._options)
        await self._app.send((task,))
        return task.id
