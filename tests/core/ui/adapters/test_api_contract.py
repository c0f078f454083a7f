"""The other frameworks' API answers as the Django API does: every response checked
against the OpenAPI document both serve (through FastAPI's client; the adapters share
the handlers), schedules created, changed, run and deleted, and workers controlled."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
jsonschema = pytest.importorskip("jsonschema")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from flowrra.ui.fastapi import create_router  # noqa: E402
from flowrra.ui.openapi import document  # noqa: E402

from .site_app import BEARER, TOKEN, make_app  # noqa: E402

DOCUMENT = document()


def conforms(response: Any, template: str, method: str) -> Any:
    """``response`` has a status the document lists for the operation and matches its
    schema; its decoded body."""
    operation = DOCUMENT["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template}: {status} {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(response.content)
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": DOCUMENT["components"]})
    return body


@pytest.fixture
def client() -> Iterator[TestClient]:
    flowrra = make_app()
    flowrra.create_scheduler("memory://")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with flowrra:
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_router(flowrra, api_tokens=[TOKEN]), prefix="/flowrra")
    with TestClient(app, headers=BEARER) as client:
        yield client


def test_tasks_and_the_openapi_document(client: TestClient) -> None:
    doc = client.get("/flowrra/api/openapi.json").json()
    assert (
        doc["paths"] == DOCUMENT["paths"] and "session" not in doc["components"]["securitySchemes"]
    )
    created = conforms(
        client.post("/flowrra/api/tasks/", json={"task": "add", "args": [1, 2]}), "/tasks/", "POST"
    )
    task_id = created["task_id"]
    conforms(client.get("/flowrra/api/tasks/"), "/tasks/", "GET")
    conforms(client.get(f"/flowrra/api/tasks/{task_id}/"), "/tasks/{task_id}/", "GET")
    conforms(client.get("/flowrra/api/tasks/?per_page=0"), "/tasks/", "GET")
    conforms(client.post("/flowrra/api/tasks/", content=b"[1"), "/tasks/", "POST")
    retried = client.post(f"/flowrra/api/tasks/{task_id}/retry/")
    conforms(retried, "/tasks/{task_id}/retry/", "POST")
    ended = client.post(f"/flowrra/api/tasks/{task_id}/terminate/")
    assert ended.status_code in (404, 409)  # finished, or not run yet
    conforms(client.get("/flowrra/api/task-types/"), "/task-types/", "GET")
    conforms(client.get("/flowrra/api/stats/"), "/stats/", "GET")
    conforms(client.get("/flowrra/api/queues/"), "/queues/", "GET")
    assert client.delete(f"/flowrra/api/tasks/{task_id}/").status_code == 405


def test_schedules_created_changed_run_and_deleted(client: TestClient) -> None:
    definition = {"task_name": "add", "schedule_type": "interval", "schedule": "60", "args": [1, 2]}
    created = conforms(
        client.post("/flowrra/api/schedules/", json=definition), "/schedules/", "POST"
    )
    one = f"/flowrra/api/schedules/{created['id']}/"
    template = "/schedules/{schedule_id}/"
    assert created["enabled"] is True
    patched = conforms(client.patch(one, json={"description": "every minute"}), template, "PATCH")
    assert patched["description"] == "every minute" and patched["args"] == [1, 2]
    replaced = conforms(client.put(one, json={**definition, "args": [3, 4]}), template, "PUT")
    assert replaced["description"] in ("", None) and replaced["args"] == [3, 4]
    bad = conforms(client.put(one, json={"nope": 1}), template, "PUT")
    assert "nope" in bad["fields"]
    disabled = client.post(one + "disable/")
    assert conforms(disabled, template + "disable/", "POST")["enabled"] is False
    run = conforms(client.post(one + "run/"), template + "run/", "POST")
    assert run["schedule_id"] == created["id"]
    listed = conforms(client.get("/flowrra/api/schedules/"), "/schedules/", "GET")
    assert [s["id"] for s in listed["schedules"]] == [created["id"]]
    assert conforms(client.delete(one), template, "DELETE") == {
        "id": created["id"],
        "deleted": True,
    }
    conforms(client.get(one), template, "GET")  # 404 now


def test_worker_control(client: TestClient) -> None:
    workers = conforms(client.get("/flowrra/api/workers/"), "/workers/", "GET")
    worker_id = workers["workers"][0]["id"]
    control = f"/flowrra/api/workers/{worker_id}/control/"
    template = "/workers/{worker_id}/control/"
    bad = conforms(client.post(control, json={"command": "pause", "timeout": 99}), template, "POST")
    assert "timeout" in bad["fields"]
    answered = client.post(control, json={"command": "pause", "args": {"queue": "default"}})
    conforms(answered, template, "POST")
    pause = {"command": "pause", "args": {"queue": "default"}}
    missing = client.post("/flowrra/api/workers/nobody/control/", json=pause)
    assert conforms(missing, template, "POST")["status"] == 404
