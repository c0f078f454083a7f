"""What the adapter tests share: a Flowrra app with tasks, and the checks every adapter's
pages and API must pass (the adapters differ only in their framework's test client)."""

from __future__ import annotations

from flowrra import Flowrra

TOKEN = "s3cret-token"
PAGES = ("", "tasks/", "workers/", "queues/", "schedules/")


def make_app() -> Flowrra:
    app = Flowrra.from_urls()
    app.create_scheduler("memory://")

    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    @app.task(max_retries=0)
    async def fail() -> None:
        raise RuntimeError("boom at redis://user:hunter2@db:6379/0")

    return app


def allow_header(request: object) -> bool:
    """The tests' ``authorize`` hook: requests that carry ``X-Staff: yes``."""
    headers = getattr(request, "headers", {})
    return headers.get("x-staff") == "yes"


STAFF = {"X-Staff": "yes"}
BEARER = {"Authorization": f"Bearer {TOKEN}"}
