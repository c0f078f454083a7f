"""The Flowrra dashboard in a FastAPI application (``pip install flowrra[ui-fastapi]``)::

    from fastapi import FastAPI
    from flowrra import Flowrra
    from flowrra.ui.fastapi import create_router

    app = FastAPI()
    flowrra = Flowrra.from_urls("redis://localhost:6379/0", "redis://localhost:6379/1")
    app.include_router(
        create_router(flowrra, authorize=lambda request: request.client.host == "127.0.0.1"),
        prefix="/flowrra",
    )

The pages, the JSON API under ``api/``, ``health``, ``metrics``, the static files and the
live websocket at ``ws``, all from :class:`flowrra.ui.web.Dashboard`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from .serialize import json_default
from .web import Dashboard
from .web import Request as DashboardRequest
from .web.http import Authorize, authorized
from .web.stream import serve_websocket

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..scheduler import Scheduler

METHODS = ["GET", "HEAD", "POST"]


def create_router(
    flowrra_app: Flowrra,
    *,
    authorize: Authorize | None = None,
    api_tokens: Collection[str] = (),
    timezone: dt.tzinfo = dt.UTC,
    scheduler: Scheduler | None = None,
    poll_seconds: float = 1.0,
) -> APIRouter:
    """A router of the dashboard of ``flowrra_app``; include it with a ``prefix``.

    ``authorize(request) -> bool`` (sync or async, given FastAPI's ``Request`` or
    ``WebSocket``) decides who may use it; ``api_tokens`` also let API and metrics clients
    in by ``Authorization: Bearer <token>``. With neither, only ``health`` answers.
    """
    dashboard = Dashboard(
        flowrra_app,
        authorize=authorize,
        api_tokens=api_tokens,
        timezone=timezone,
        scheduler=scheduler,
        poll_seconds=poll_seconds,
        factory="create_router",
    )
    router = APIRouter()

    async def serve(request: Request, path: str = "") -> Response:
        url_path = request.url.path
        answer = await dashboard.handle(
            DashboardRequest(
                method=request.method,
                path=path,
                base=url_path[: len(url_path) - len(path)],
                query=parse_qs(request.url.query, keep_blank_values=True),
                headers=dict(request.headers),
                body=await request.body(),
                authorized=await authorized(authorize, request),
            )
        )
        return Response(
            answer.body, answer.status, headers=answer.headers, media_type=answer.content_type
        )

    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        refused = dashboard.access.websocket_refusal(await authorized(authorize, websocket))
        if refused is not None:
            await websocket.close(code=refused)
            return

        async def send(message: dict[str, Any]) -> None:
            await websocket.send_text(json.dumps(message, default=json_default))

        async def receive() -> Any:
            try:
                return json.loads(await websocket.receive_text())
            except ValueError:
                return None

        with contextlib.suppress(WebSocketDisconnect):
            await serve_websocket(dashboard, parse_qs(websocket.url.query), send, receive)

    router.add_api_websocket_route("/ws", live)
    router.add_api_route("/", serve, methods=METHODS, include_in_schema=False)
    router.add_api_route("/{path:path}", serve, methods=METHODS, include_in_schema=False)
    return router
