"""The dashboard in FastAPI, through FastAPI's own test client: pages, API, health and
metrics, who may use them, and the live websocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

pytest.importorskip("fastapi")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from flowrra.ui.fastapi import create_router

from .site_app import BEARER, PAGES, STAFF, TOKEN, allow_header, make_app


def client_for(**options: object) -> TestClient:
    flowrra = make_app()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with flowrra:  # a worker in this process runs what the API submits
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_router(flowrra, **options), prefix="/flowrra")  # type: ignore[arg-type]
    return TestClient(app)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with client_for(authorize=allow_header, api_tokens=[TOKEN]) as client:
        yield client


def test_every_page_renders_for_an_authorized_request(client: TestClient) -> None:
    for page in PAGES:
        response = client.get(f"/flowrra/{page}", headers=STAFF)
        assert response.status_code == 200, page
        assert '<nav class="fl-nav"' in response.text
        assert "/flowrra/static/dashboard.css" in response.text
    assert 'data-fl-live-ws="/flowrra/ws"' in client.get("/flowrra/", headers=STAFF).text
    css = client.get("/flowrra/static/dashboard.css")
    assert css.status_code == 200 and ".fl-card" in css.text


def test_a_submitted_task_shows_its_result_on_its_page_and_in_the_api(client: TestClient) -> None:
    created = client.post(
        "/flowrra/api/tasks/", json={"task": "add", "args": [2, 3]}, headers=BEARER
    )
    assert created.status_code == 201
    task_id = created.json()["task_id"]
    assert created.json()["url"] == f"/flowrra/api/tasks/{task_id}/"
    for _ in range(100):
        detail = client.get(f"/flowrra/api/tasks/{task_id}/", headers=BEARER).json()
        if detail["task"]["status"] == "success":
            break
    assert detail["task"]["result"] == 5 and detail["can_revoke"] is False
    page = client.get(f"/flowrra/tasks/{task_id}/", headers=STAFF)
    assert page.status_code == 200 and "status-success" in page.text
    assert f'data-fl-post="/flowrra/api/tasks/{task_id}/retry/"' in page.text
    listed = client.get("/flowrra/api/tasks/?status=success", headers=BEARER).json()
    assert [task["task_id"] for task in listed["tasks"]] == [task_id]
    assert "traceback" not in listed["tasks"][0]


def test_errors_are_masked_and_bad_input_is_a_400(client: TestClient) -> None:
    task_id = client.post("/flowrra/api/tasks/", json={"task": "fail"}, headers=BEARER).json()[
        "task_id"
    ]
    for _ in range(100):
        task = client.get(f"/flowrra/api/tasks/{task_id}/", headers=BEARER).json()["task"]
        if task["status"] == "failed":
            break
    assert "hunter2" not in task["error"] and "redis://user:***@db" in task["error"]
    bad = client.get("/flowrra/api/tasks/?status=lost", headers=BEARER)
    assert bad.status_code == 400 and "status" in bad.json()["fields"]
    assert client.get("/flowrra/tasks/?status=lost", headers=STAFF).status_code == 400
    unknown = client.post("/flowrra/api/tasks/", json={"task": "nope"}, headers=BEARER)
    assert unknown.status_code == 400 and unknown.json()["error"] == "The task was not submitted."
    assert client.get("/flowrra/api/tasks/nope/", headers=BEARER).status_code == 404
    assert client.get("/flowrra/tasks/nope/", headers=STAFF).status_code == 404
    assert client.get("/flowrra/api/unknown/", headers=BEARER).status_code == 404


def test_workers_queues_stats_health_and_metrics(client: TestClient) -> None:
    workers = client.get("/flowrra/api/workers/", headers=BEARER).json()
    assert workers["online"] == 1
    worker_id = workers["workers"][0]["id"]
    assert client.get(f"/flowrra/workers/{worker_id}/", headers=STAFF).status_code == 200
    queues = client.get("/flowrra/api/queues/", headers=BEARER).json()
    assert [queue["queue"] for queue in queues["queues"]] == ["default"]
    assert client.get("/flowrra/api/stats/", headers=BEARER).json()["registered_tasks"] == 2
    health = client.get("/flowrra/health")  # no credentials: probes need none
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = client.get("/flowrra/metrics", headers=BEARER)
    assert metrics.status_code == 200 and "flowrra_workers_online 1.0" in metrics.text


def test_without_a_hook_or_token_everything_but_health_is_refused() -> None:
    with client_for() as client:
        page = client.get("/flowrra/")
        assert page.status_code == 403 and "authorize=" in page.text
        api = client.get("/flowrra/api/tasks/")
        assert api.status_code == 403 and "create_router(" in api.json()["error"]
        assert client.get("/flowrra/metrics").status_code == 403
        assert client.get("/flowrra/health").status_code == 200
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/flowrra/ws") as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 4401


def test_the_hook_and_the_token_decide(client: TestClient) -> None:
    assert client.get("/flowrra/").status_code == 403  # the hook says no
    assert client.get("/flowrra/", headers=BEARER).status_code == 403  # tokens are for the API
    assert client.get("/flowrra/api/stats/", headers=BEARER).status_code == 200
    wrong = client.get("/flowrra/api/stats/", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/flowrra/api/stats/").status_code == 403
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/flowrra/ws") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4403


def test_the_websocket_streams_task_updates(client: TestClient) -> None:
    with client.websocket_connect("/flowrra/ws", headers=STAFF) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"subscribe": "nonsense"})
        assert ws.receive_json()["type"] == "error"
        task_id = client.post(
            "/flowrra/api/tasks/", json={"task": "add", "args": [1, 1]}, headers=BEARER
        ).json()["task_id"]
        seen: list[str] = []
        while "success" not in seen:
            message = ws.receive_json()
            events = message["events"] if message["type"] == "batch" else [message]
            seen += [
                e["task"]["status"]
                for e in events
                if e["type"] == "task.update" and e["task"]["task_id"] == task_id
            ]
        assert seen[-1] == "success"


def test_another_site_cannot_write_or_listen_with_the_users_cookies(client: TestClient) -> None:
    body = {"task": "add", "args": [1, 2]}
    evil = {**STAFF, "Origin": "http://evil.example"}
    refused = client.post("/flowrra/api/tasks/", json=body, headers=evil)
    assert refused.status_code == 403 and "Cross-site" in refused.json()["error"]
    form = client.post(
        "/flowrra/api/tasks/",
        content=b'{"task": "add", "args": [1, 2]}',
        headers={**STAFF, "Content-Type": "text/plain"},  # what a cross-site form can send
    )
    assert form.status_code == 403 and "application/json" in form.json()["error"]
    own = {**STAFF, "Origin": "http://testserver"}
    assert client.post("/flowrra/api/tasks/", json=body, headers=own).status_code == 201
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/flowrra/ws", headers=evil) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4403


def test_the_schedule_form_and_its_preview(client: TestClient) -> None:
    form = client.get("/flowrra/schedules/add/?task_name=add", headers=STAFF)
    assert form.status_code == 200
    assert 'data-fl-form="/flowrra/api/schedules/" data-fl-method="POST"' in form.text
    assert "<option selected>add</option>" in form.text
    preview = client.get(
        "/flowrra/schedules/preview/?schedule_type=cron&schedule=0+9+*+*+1&timezone=Europe/Paris",
        headers=STAFF,
    )
    assert "Next 5 runs" in preview.text and "Mon" in preview.text
    wrong = client.get(
        "/flowrra/schedules/preview/?schedule_type=cron&schedule=nope", headers=STAFF
    )
    assert "fl-err" in wrong.text
    assert client.get("/flowrra/schedules/nope/", headers=STAFF).status_code == 404


def test_a_schedule_edited_through_its_form(client: TestClient) -> None:
    definition = {"task_name": "add", "schedule_type": "once", "schedule": "2040-01-31T09:00"}
    created = client.post(
        "/flowrra/api/schedules/", json={**definition, "args": [1, 2]}, headers=BEARER
    )
    schedule_id = created.json()["id"]
    form = client.get(f"/flowrra/schedules/{schedule_id}/", headers=STAFF)
    assert form.status_code == 200 and 'value="2040-01-31T09:00"' in form.text
    assert f'data-fl-form="/flowrra/api/schedules/{schedule_id}/" data-fl-method="PUT"' in form.text
    # what actions.js sends: every field as text, the checkbox as a boolean
    fields = {"name": "", "timezone": "UTC", "args": "[3, 4]", "kwargs": "{}", "queue": ""}
    fields |= {"priority": "", "max_retries": "", "retry_delay": "", "description": ""}
    body = {**definition, **fields, "missed_policy": "run_once", "enabled": False}
    saved = client.put(f"/flowrra/api/schedules/{schedule_id}/", json=body, headers=STAFF)
    assert saved.status_code == 200, saved.text
    assert saved.json()["args"] == [3, 4] and saved.json()["enabled"] is False
    listed = client.get("/flowrra/schedules/", headers=STAFF)
    assert (
        f'href="/flowrra/schedules/{schedule_id}/"' in listed.text and "(disabled)" in listed.text
    )
