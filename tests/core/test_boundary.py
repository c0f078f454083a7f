"""The engine stands alone: importing and running flowrra never imports Django, nor any
other web framework (FastAPI, Flask, Quart, their toolkits, Jinja2)."""

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
                web = ("fastapi", "starlette", "flask", "quart", "werkzeug", "jinja2")
                if name == "django" or name.startswith(("django.", "channels", "flowrra_django")):
                    raise ImportError(f"{name} must not be imported by flowrra")
                if name.split(".")[0] in web:
                    raise ImportError(f"{name} must not be imported by flowrra")
                return None

        sys.meta_path.insert(0, NoDjango())
        import flowrra
        import flowrra.management, flowrra.worker_process, flowrra.worker
        import flowrra.ui, flowrra.ui.chart, flowrra.ui.django  # the dashboard's services
        import flowrra.ui.web, flowrra.ui.live, flowrra.ui.health  # the adapters' common core
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
        frameworks = {"django", "channels", "fastapi", "starlette", "flask", "quart", "jinja2"}
        print(sorted(m for m in sys.modules if m.split(".")[0] in frameworks))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["pong", "[]"]
