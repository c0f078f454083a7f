"""The Flowrra dashboard in a Quart application (``pip install flowrra[ui-quart]``), with
live updates over a websocket (:func:`flowrra.ui.quart_websocket.setup_websocket`)::

    from quart import Quart
    from flowrra import Flowrra
    from flowrra.ui.quart import create_blueprint
    from flowrra.ui.quart_websocket import setup_websocket

    app = Quart(__name__)
    flowrra = Flowrra.from_urls("redis://localhost:6379/0", "redis://localhost:6379/1")
    app.register_blueprint(create_blueprint(flowrra, authorize=...), url_prefix="/flowrra")
    setup_websocket(app)  # at /flowrra/ws
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, request

from .web import Dashboard
from .web import Request as DashboardRequest
from .web.http import Authorize, authorized

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..scheduler import Scheduler

METHODS = ["GET", "HEAD", "POST"]
#: Where a Quart app keeps its dashboard (``app.extensions``), for the websocket to find.
EXTENSION = "flowrra"


def create_blueprint(
    flowrra_app: Flowrra,
    *,
    authorize: Authorize | None = None,
    api_tokens: Collection[str] = (),
    timezone: dt.tzinfo = dt.UTC,
    scheduler: Scheduler | None = None,
    websocket_path: str | None = None,
    poll_seconds: float = 1.0,
    name: str = "flowrra",
) -> Blueprint:
    """A blueprint of the dashboard of ``flowrra_app``; register it with a ``url_prefix``.

    ``authorize(request) -> bool`` (sync or async, given Quart's request or websocket)
    decides who may use it; ``api_tokens`` also let API and metrics clients in by
    ``Authorization: Bearer <token>``. With neither, only ``health`` answers. Pages listen
    for live updates at ``websocket_path`` (default: ``ws`` under the blueprint's prefix,
    where :func:`~flowrra.ui.quart_websocket.setup_websocket` puts it by default).
    """
    dashboard = Dashboard(
        flowrra_app,
        authorize=authorize,
        api_tokens=api_tokens,
        timezone=timezone,
        scheduler=scheduler,
        websocket_path=websocket_path,
        poll_seconds=poll_seconds,
        factory="create_blueprint",
    )
    blueprint = Blueprint(name, __name__)

    def remember(state: Any) -> None:
        state.app.extensions[EXTENSION] = dashboard

    blueprint.record_once(remember)

    async def serve(path: str = "") -> Response:
        native = request._get_current_object()  # type: ignore[attr-defined]
        answer = await dashboard.handle(
            DashboardRequest(
                method=request.method,
                path=path,
                base=request.path[: len(request.path) - len(path)],
                query=request.args.to_dict(flat=False),
                headers=dict(request.headers),
                body=await request.get_data(as_text=False),
                authorized=await authorized(authorize, native),
            )
        )
        return Response(
            answer.body, answer.status, headers=answer.headers, content_type=answer.content_type
        )

    blueprint.add_url_rule("/", "dashboard", serve, methods=METHODS, defaults={"path": ""})
    blueprint.add_url_rule("/<path:path>", "dashboard", serve, methods=METHODS)
    return blueprint
