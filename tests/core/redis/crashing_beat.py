"""A beat killed at the worst moment, for :mod:`.test_beat_crash`: it submits its pass's
tasks to Redis, then SIGKILLs itself before its claims commit. The seam is this subclass of
the SQLite store, in the test's own process; the library has none::

    python -m tests.core.redis.crashing_beat <schedule file> <redis url>
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra
from flowrra.scheduler import Scheduler
from flowrra.scheduler.backends.sqlite import SQLiteSchedulerBackend
from tests.core.redis import tasks_app


class KilledBeforeCommit(SQLiteSchedulerBackend):
    """Dies by SIGKILL once a pass's submissions are done, inside its transaction."""

    @contextlib.asynccontextmanager
    async def firing(self, app: Flowrra | None) -> AsyncIterator[bool]:
        async with super().firing(app) as held:
            yield held
            os.kill(os.getpid(), signal.SIGKILL)


async def main(path: str, url: str) -> None:
    app = Flowrra(Config(broker=BrokerConfig(url=url), backend=BackendConfig(url=url)))
    for spec in tasks_app.app.registry:
        app.registry.register(spec)
    await app.start(worker=False)
    await Scheduler(KilledBeforeCommit(f"sqlite:///{path}"), app=app).run_pending()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
