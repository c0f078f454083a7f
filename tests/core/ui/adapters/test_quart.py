"""The dashboard in Quart, through Quart's test client: pages, API, who may use them, and
the live websocket of :func:`flowrra.ui.quart_websocket.setup_websocket`."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("quart")

from quart import Quart
from quart.testing.connections import WebsocketDisconnectError

from flowrra.ui.quart import create_blueprint
from flowrra.ui.quart_websocket import setup_websocket

from .site_app import BEARER, PAGES, STAFF, TOKEN, allow_header, make_app


def quart_app(**options: object) -> Quart:
    app = Quart(__name__)
    flowrra = make_app()
    app.register_blueprint(create_blueprint(flowrra, **options), url_prefix="/flowrra")  # type: ignore[arg-type]
    setup_websocket(app)

    @app.before_serving
    async def start() -> None:
        await flowrra.start()

    @app.after_serving
    async def stop() -> None:
        await flowrra.stop(wait=False)

    return app


async def test_pages_api_and_the_websocket() -> None:
    app = quart_app(authorize=allow_header, api_tokens=[TOKEN])
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for page in PAGES:
            response = await client.get(f"/flowrra/{page}", headers=STAFF)
            assert response.status_code == 200, page
        overview = await (await client.get("/flowrra/", headers=STAFF)).get_data(as_text=True)
        assert 'data-fl-live-ws="/flowrra/ws"' in overview
        async with client.websocket("/flowrra/ws", headers=STAFF) as ws:
            assert json.loads(await ws.receive())["type"] == "hello"
            created = await client.post(
                "/flowrra/api/tasks/", json={"task": "add", "args": [4, 5]}, headers=BEARER
            )
            assert created.status_code == 201
            task_id = (await created.get_json())["task_id"]
            seen: list[str] = []
            async with asyncio.timeout(10):
                while "success" not in seen:
                    message = json.loads(await ws.receive())
                    events = message["events"] if message["type"] == "batch" else [message]
                    seen += [
                        e["task"]["status"]
                        for e in events
                        if e["type"] == "task.update" and e["task"]["task_id"] == task_id
                    ]
        detail = await (
            await client.get(f"/flowrra/api/tasks/{task_id}/", headers=BEARER)
        ).get_json()
        assert detail["task"]["result"] == 9
        assert (await client.get("/flowrra/health")).status_code == 200


async def test_refusals_without_a_hook_and_by_the_hook() -> None:
    async with quart_app().test_app() as test_app:
        client = test_app.test_client()
        refused = await client.get("/flowrra/")
        assert refused.status_code == 403
        assert "authorize=" in await refused.get_data(as_text=True)
        assert (await client.get("/flowrra/api/tasks/")).status_code == 403
        assert (await client.get("/flowrra/health")).status_code == 200
    async with quart_app(authorize=allow_header).test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get("/flowrra/workers/")).status_code == 403
        assert (await client.get("/flowrra/workers/", headers=STAFF)).status_code == 200
        with pytest.raises(WebsocketDisconnectError) as closed:
            async with client.websocket("/flowrra/ws") as ws:
                await ws.receive()
        assert closed.value.args == (4403,)
