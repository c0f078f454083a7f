from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowrra import Config, ExecutorConfig, Flowrra, serialization


@pytest.fixture
async def app() -> AsyncIterator[Flowrra]:
    """A started in-memory app with quick retries; tasks are registered by each test."""
    application = Flowrra(Config(executor=ExecutorConfig(io_workers=4, retry_delay=0.01)))
    yield application
    await application.stop(wait=False)


@pytest.fixture
def events(app: Flowrra) -> list[dict]:
    """Every event the app emits, in order."""
    seen: list[dict] = []
    app.events.subscribe(seen.append)
    return seen


def statuses(events: list[dict], task_id: str) -> list[str]:
    """The task.update statuses emitted for one task, in order."""
    return [
        e["task"]["status"]
        for e in events
        if e["type"] == "task.update" and e["task"]["task_id"] == task_id
    ]


@pytest.fixture(params=["orjson", "standard library"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test of the writer runs with the optional fast codec and without it."""
    if request.param == "standard library":
        monkeypatch.setattr(serialization, "orjson", None)
    elif serialization.orjson is None:
        pytest.skip("orjson is not installed (pip install flowrra[speed])")
    return str(request.param)
