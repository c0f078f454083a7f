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
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from .adapter import BaseUIAdapter
from .web.http import authorized
from .web.site import METHODS
from .web.stream import serve_websocket

if TYPE_CHECKING:
    from ..app import Flowrra


class FastAPIAdapter(BaseUIAdapter):
    """The dashboard as an ``APIRouter``: pages, API, health, metrics, static files and
    the live websocket at ``ws``."""

    factory = "create_router"

    def get_routes(self) -> APIRouter:
        dashboard = self.dashboard
        router = APIRouter()

        async def serve(request: Request, path: str = "") -> Response:
            answer = await dashboard.handle(
                self.dashboard_request(
                    method=request.method,
                    path=path,
                    url_path=request.url.path,
                    query=parse_qs(request.url.query, keep_blank_values=True),
                    headers=dict(request.headers),
                    body=await request.body(),
                    authorized=await authorized(dashboard.authorize, request),
                )
            )
            return Response(
                answer.body, answer.status, headers=answer.headers, media_type=answer.content_type
            )

        async def live(websocket: WebSocket) -> None:
            await websocket.accept()
            refused = dashboard.access.websocket_refusal(
                await authorized(dashboard.authorize, websocket), dict(websocket.headers)
            )
            if refused is not None:
                await websocket.close(code=refused)
                return
            with contextlib.suppress(WebSocketDisconnect):
                await serve_websocket(
                    dashboard, websocket.url.query, websocket.send_text, websocket.receive_text
                )

        router.add_api_websocket_route("/ws", live)
        router.add_api_route("/", serve, methods=METHODS, include_in_schema=False)
        router.add_api_route("/{path:path}", serve, methods=METHODS, include_in_schema=False)
        return router


def create_router(flowrra_app: Flowrra, **options: Any) -> APIRouter:
    """A router of the dashboard of ``flowrra_app``; include it with a ``prefix``.

    ``authorize(request) -> bool`` (sync or async, given FastAPI's ``Request`` or
    ``WebSocket``) decides who may use it; ``api_tokens=[...]`` also let API and metrics
    clients in by ``Authorization: Bearer <token>``. With neither, only ``health``
    answers. Other options: ``timezone``, ``scheduler``, ``poll_seconds`` (see
    :class:`~flowrra.ui.web.Dashboard`).
    """
    return FastAPIAdapter(flowrra_app, **{"poll_seconds": 1.0, **options}).get_routes()
