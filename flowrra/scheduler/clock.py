"""The scheduler's notion of time: the real clock, or a manual one for tests.

``app.create_scheduler(..., clock=ManualClock(start))`` never sleeps for real: ``await
clock.advance(seconds)`` moves time forward and wakes whatever sleeps until then, and
``await scheduler.settle()`` returns once the scheduler has handled what became due, so a
test of a daily schedule runs in milliseconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol

from ..task import utcnow


class Clock(Protocol):
    """What the scheduler needs from a clock."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...

    async def sleep_until(self, deadline: dt.datetime) -> None:
        """Return once this clock reaches ``deadline``."""
        ...


class SystemClock:
    """Wall-clock time and ``asyncio.sleep``."""

    def now(self) -> dt.datetime:
        return utcnow()

    async def sleep_until(self, deadline: dt.datetime) -> None:
        await asyncio.sleep(max(0.0, (deadline - utcnow()).total_seconds()))


class ManualClock:
    """A clock that moves only when told to; sleepers wake when :meth:`advance` passes
    their deadline."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start
        self._sleepers: list[tuple[dt.datetime, asyncio.Future[None]]] = []

    def now(self) -> dt.datetime:
        return self._now

    async def sleep_until(self, deadline: dt.datetime) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        entry = (deadline, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake the sleepers whose deadline passed."""
        self._now += dt.timedelta(seconds=seconds)
        for deadline, waiter in self._sleepers:
            if deadline <= self._now and not waiter.done():
                waiter.set_result(None)
        await asyncio.sleep(0)
