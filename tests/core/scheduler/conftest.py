from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from flowrra import Flowrra
from flowrra.scheduler import ManualClock, MemorySchedulerBackend, Scheduler

START = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)


@dataclass
class Harness:
    """An app with a ``ping`` task, its scheduler on a manual clock, and the runs seen."""

    app: Flowrra
    scheduler: Scheduler
    clock: ManualClock
    runs: list[tuple[dt.datetime, object]] = field(default_factory=list)

    async def advance(self, seconds: float) -> None:
        """Move the clock on, then wait until the tasks it fired have run."""
        await self.clock.advance(seconds)
        await self.scheduler.settle()
        await self.app.join(timeout=5)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    app = Flowrra.from_urls()
    clock = ManualClock(START)
    scheduler = app.create_scheduler(MemorySchedulerBackend(), check_interval=3600, clock=clock)
    h = Harness(app, scheduler, clock)

    @app.task()
    async def ping(value: object = None) -> object:
        h.runs.append((clock.now(), value))
        return value

    await app.start()
    yield h
    await app.stop(wait=False)
