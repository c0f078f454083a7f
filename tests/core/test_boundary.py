"""The engine stands alone: importing and running flowrra never imports Django."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_flowrra_runs_without_django_importable() -> None:
    script = textwrap.dedent(
        """
        import asyncio, importlib.abc, sys

        class NoDjango(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "django" or name.startswith(("django.", "channels", "flowrra_django")):
                    raise ImportError(f"{name} must not be imported by flowrra")
                return None

        sys.meta_path.insert(0, NoDjango())
        import flowrra
        import flowrra.management, flowrra.worker_process, flowrra.worker
        import flowrra.ui, flowrra.ui.chart, flowrra.ui.django  # the dashboard's services
        from flowrra.ui import UIService, ScheduleService
        from flowrra.management import FlowrraManager

        app = flowrra.Flowrra.from_urls()

        @app.task()
        async def ping() -> str:
            return "pong"

        async def main():
            async with app:
                result = await app.wait_for_result(await app.submit(ping), timeout=5)
                manager = FlowrraManager(app)
                await UIService(manager).get_dashboard_data()
                await ScheduleService(manager).list_schedules()
            print(result.result)

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] in {"django", "channels"}))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["pong", "[]"]
