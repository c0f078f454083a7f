"""The dashboard in Flask, through Flask's test client: pages that poll every 2 s (Flask
has no websockets), the API, health and metrics, and who may use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("flask")

from flask import Flask
from flask.testing import FlaskClient

from flowrra.ui.flask import create_blueprint

from .site_app import BEARER, PAGES, STAFF, TOKEN, allow_header, make_app


def client_for(**options: object) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(make_app(), **options), url_prefix="/flowrra")  # type: ignore[arg-type]
    return app.test_client()


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    yield client_for(authorize=allow_header, api_tokens=[TOKEN])


def test_pages_poll_every_two_seconds_and_the_api_answers(client: FlaskClient) -> None:
    for page in PAGES:
        response = client.get(f"/flowrra/{page}", headers=STAFF)
        assert response.status_code == 200, page
        assert "Flowrra" in response.text
    overview = client.get("/flowrra/", headers=STAFF).text
    assert 'data-fl-live-poll="2000"' in overview and "data-fl-live-ws" not in overview
    assert client.get("/flowrra/static/live.js").status_code == 200
    created = client.post(
        "/flowrra/api/tasks/", json={"task": "add", "args": [2, 3]}, headers=BEARER
    )
    assert created.status_code == 201
    task_id = created.get_json()["task_id"]
    detail = client.get(f"/flowrra/api/tasks/{task_id}/", headers=BEARER).get_json()
    assert detail["task"]["status"] == "pending"  # no worker in this web process
    assert detail["can_revoke"] is True
    page = client.get(f"/flowrra/tasks/{task_id}/", headers=STAFF)
    assert page.status_code == 200 and "status-pending" in page.text
    revoked = client.post(f"/flowrra/api/tasks/{task_id}/revoke/", headers=BEARER)
    assert revoked.status_code == 200 and revoked.get_json() == {
        "task_id": task_id,
        "revoked": True,
    }
    again = client.post(f"/flowrra/api/tasks/{task_id}/revoke/", headers=BEARER)
    assert again.status_code == 409
    assert (
        client.get("/flowrra/api/tasks/", headers=BEARER).get_json()["tasks"][0]["status"]
        == "revoked"
    )
    assert client.get("/flowrra/health").get_json()["status"] == "ok"
    assert b"flowrra_tasks" in client.get("/flowrra/metrics", headers=BEARER).data


def test_an_async_hook_is_awaited_in_the_request_context() -> None:
    seen: list[str] = []

    async def authorize(request: object) -> bool:
        seen.append(request.path)  # type: ignore[attr-defined]
        return True

    client = client_for(authorize=authorize)
    assert client.get("/flowrra/queues/").status_code == 200
    assert seen == ["/flowrra/queues/"]


def test_without_a_hook_or_token_everything_but_health_is_refused() -> None:
    client = client_for()
    refused = client.get("/flowrra/tasks/")
    assert refused.status_code == 403 and "create_blueprint(flowrra, authorize=" in refused.text
    assert client.get("/flowrra/api/stats/").status_code == 403
    assert client.get("/flowrra/health").status_code == 200
    hooked = client_for(authorize=allow_header, api_tokens=[TOKEN])
    assert hooked.get("/flowrra/").status_code == 403
    assert hooked.get("/flowrra/", headers=STAFF).status_code == 200
    assert (
        hooked.get("/flowrra/api/stats/", headers={"Authorization": "Bearer x"}).status_code == 401
    )
    assert hooked.get("/flowrra/api/stats/", headers=BEARER).status_code == 200
