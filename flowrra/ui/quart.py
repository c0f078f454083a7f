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

from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, request

from .adapter import BaseUIAdapter
from .web.http import authorized
from .web.site import add_blueprint_rules

if TYPE_CHECKING:
    from ..app import Flowrra


#: Where a Quart app keeps its dashboard (``app.extensions``), for the websocket to find.
EXTENSION = "flowrra"


class QuartAdapter(BaseUIAdapter):
    """The dashboard as a Quart ``Blueprint``; registering it makes its dashboard the one
    :func:`~flowrra.ui.quart_websocket.setup_websocket` serves."""

    factory = "create_blueprint"

    def __init__(self, flowrra_app: Flowrra, *, name: str = "flowrra", **options: Any) -> None:
        super().__init__(flowrra_app, **options)
        self.name = name

    def get_routes(self) -> Blueprint:
        dashboard = self.dashboard
        blueprint = Blueprint(self.name, __name__)

        def remember(state: Any) -> None:
            state.app.extensions[EXTENSION] = dashboard

        blueprint.record_once(remember)

        async def serve(path: str = "") -> Response:
            native = request._get_current_object()  # type: ignore[attr-defined]
            answer = await dashboard.handle(
                self.dashboard_request(
                    method=request.method,
                    path=path,
                    url_path=request.path,
                    query=request.args.to_dict(flat=False),
                    headers=dict(request.headers),
                    body=await request.get_data(as_text=False),  # type: ignore[arg-type]
                    authorized=await authorized(dashboard.authorize, native),
                )
            )
            return Response(
                answer.body, answer.status, headers=answer.headers, content_type=answer.content_type
            )

        add_blueprint_rules(blueprint, serve)
        return blueprint


def create_blueprint(flowrra_app: Flowrra, **options: Any) -> Blueprint:
    """A blueprint of the dashboard of ``flowrra_app``; register it with a ``url_prefix``.

    ``authorize(request) -> bool`` (sync or async, given Quart's request or websocket)
    decides who may use it; ``api_tokens=[...]`` also let API and metrics clients in by
    ``Authorization: Bearer <token>``. With neither, only ``health`` answers. Pages listen
    for live updates at ``websocket_path`` (default: ``ws`` under the blueprint's prefix,
    where :func:`~flowrra.ui.quart_websocket.setup_websocket` puts it by default). Other
    options: ``timezone``, ``scheduler``, ``poll_seconds``, ``name``.
    """
    return QuartAdapter(flowrra_app, **{"poll_seconds": 1.0, **options}).get_routes()
