"""The Flowrra dashboard in a Flask application (``pip install flowrra[ui-flask]``)::

    from flask import Flask, session
    from flowrra import Flowrra
    from flowrra.ui.flask import create_blueprint

    app = Flask(__name__)
    flowrra = Flowrra.from_urls("redis://localhost:6379/0", "redis://localhost:6379/1")
    app.register_blueprint(
        create_blueprint(flowrra, authorize=lambda request: session.get("is_admin", False)),
        url_prefix="/flowrra",
    )

Flask has no websockets: pages reload what they show every ``poll_seconds`` (2 s). The
dashboard's coroutines run on an event loop thread of the blueprint's own.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from .adapter import BaseUIAdapter
from .web.http import check_authorize
from .web.portal import Portal
from .web.site import add_blueprint_rules

if TYPE_CHECKING:
    from ..app import Flowrra


class FlaskAdapter(BaseUIAdapter):
    """The dashboard as a ``Blueprint``; its pages poll, as Flask has no websockets."""

    factory = "create_blueprint"
    live = "poll"

    def __init__(self, flowrra_app: Flowrra, *, name: str = "flowrra", **options: Any) -> None:
        super().__init__(flowrra_app, **options)
        self.name = name
        self.portal = Portal()

    def get_routes(self) -> Blueprint:
        dashboard, portal = self.dashboard, self.portal
        blueprint = Blueprint(self.name, __name__)

        def serve(path: str = "") -> Response:
            native = request._get_current_object()  # type: ignore[attr-defined]
            answer = check_authorize(dashboard.authorize, native)
            if inspect.isawaitable(answer):
                answer = portal.run(answer)  # type: ignore[arg-type]
            result = portal.run(
                dashboard.handle(
                    self.dashboard_request(
                        method=request.method,
                        path=path,
                        url_path=request.path,
                        query=request.args.to_dict(flat=False),
                        headers=dict(request.headers),
                        body=request.get_data(),
                        authorized=None if dashboard.authorize is None else bool(answer),
                    )
                )
            )
            return Response(
                result.body, result.status, headers=result.headers, content_type=result.content_type
            )

        add_blueprint_rules(blueprint, serve)
        return blueprint


def create_blueprint(flowrra_app: Flowrra, **options: Any) -> Blueprint:
    """A blueprint of the dashboard of ``flowrra_app``; register it with a ``url_prefix``.

    ``authorize(request) -> bool`` (called in the request's context, so ``session`` and
    ``flask_login.current_user`` work) decides who may use it; ``api_tokens=[...]`` also
    let API and metrics clients in by ``Authorization: Bearer <token>``. With neither, only
    ``health`` answers. Other options: ``timezone``, ``scheduler``, ``poll_seconds`` (the
    pages' reload interval, 2 s), ``name`` (the blueprint's).
    """
    return FlaskAdapter(flowrra_app, **{"poll_seconds": 2.0, **options}).get_routes()
