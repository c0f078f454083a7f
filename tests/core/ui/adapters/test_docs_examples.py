"""The example apps of docs/other-frameworks.md run: each serves the dashboard to whom its
``authorize`` hook lets in, and to nobody else (an in-memory app stands in for Redis)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[4] / "docs" / "other-frameworks.md"
REDIS = 'Flowrra.from_urls("redis://localhost:6379/0", "redis://localhost:6379/0")'


def example(framework: str) -> dict[str, Any]:
    """Run the docs' example that imports ``framework``; its globals."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    (code,) = [block for block in blocks if f"from {framework} import" in block]
    assert REDIS in code
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code.replace(REDIS, "Flowrra.from_urls()"), str(DOC), "exec"), namespace)
    return namespace


def test_the_fastapi_example() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    with TestClient(example("fastapi")["app"]) as client:
        assert client.get("/flowrra/").status_code == 403
        assert client.get("/flowrra/", headers={"X-Remote-User": "alice"}).status_code == 200
        token = {"Authorization": "Bearer a-long-random-token"}
        assert client.get("/flowrra/api/stats/", headers=token).status_code == 200


def test_the_flask_example() -> None:
    pytest.importorskip("flask")
    app = example("flask")["app"]
    client = app.test_client()
    assert client.get("/flowrra/").status_code == 403
    with client.session_transaction() as session:
        session["is_admin"] = True
    assert client.get("/flowrra/").status_code == 200


async def test_the_quart_example() -> None:
    pytest.importorskip("quart")
    app = example("quart")["app"]
    async with app.test_app() as test_app:
        client = test_app.test_client()
        local = {"client": ("127.0.0.1", 50000)}
        assert (await client.get("/flowrra/queues/", scope_base=local)).status_code == 200
        remote = {"client": ("10.0.0.9", 50000)}
        assert (await client.get("/flowrra/queues/", scope_base=remote)).status_code == 403
