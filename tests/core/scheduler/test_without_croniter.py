"""Without the optional croniter package, cron says how to install it and the rest works."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_cron_without_croniter_names_the_extra_and_intervals_still_work() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["croniter"] = None  # as if the package were not installed
        from flowrra.scheduler import CronExpression, MemorySchedulerBackend, Scheduler

        try:
            CronExpression("* * * * *")
        except ImportError as exc:
            print(exc)

        async def main():
            scheduler = Scheduler(MemorySchedulerBackend())
            await scheduler.schedule_interval("ping", 5)
            print(len(await scheduler.list_scheduled_tasks()))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == [
        "Cron schedules need the croniter package: pip install 'flowrra[cron]'",
        "1",
    ]
