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

import datetime as dt
import inspect
from collections.abc import Collection
from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from .web import Dashboard
from .web import Request as DashboardRequest
from .web.http import Authorize, check_authorize
from .web.portal import Portal

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..scheduler import Scheduler

METHODS = ["GET", "HEAD", "POST"]


def create_blueprint(
    flowrra_app: Flowrra,
    *,
    authorize: Authorize | None = None,
    api_tokens: Collection[str] = (),
    timezone: dt.tzinfo = dt.UTC,
    scheduler: Scheduler | None = None,
    poll_seconds: float = 2.0,
    name: str = "flowrra",
) -> Blueprint:
    """A blueprint of the dashboard of ``flowrra_app``; register it with a ``url_prefix``.

    ``authorize(request) -> bool`` (called in the request's context, so ``session`` and
    ``flask_login.current_user`` work) decides who may use it; ``api_tokens`` also let API
    and metrics clients in by ``Authorization: Bearer <token>``. With neither, only
    ``health`` answers.
    """
    dashboard = Dashboard(
        flowrra_app,
        authorize=authorize,
        api_tokens=api_tokens,
        timezone=timezone,
        scheduler=scheduler,
        live="poll",
        poll_seconds=poll_seconds,
        factory="create_blueprint",
    )
    portal = Portal()
    blueprint = Blueprint(name, __name__)

    def serve(path: str = "") -> Response:
        native = request._get_current_object()  # type: ignore[attr-defined]
        answer = check_authorize(authorize, native)
        if inspect.isawaitable(answer):
            answer = portal.run(answer)  # type: ignore[arg-type]
        result = portal.run(
            dashboard.handle(
                DashboardRequest(
                    method=request.method,
                    path=path,
                    base=request.path[: len(request.path) - len(path)],
                    query=request.args.to_dict(flat=False),
                    headers=dict(request.headers),
                    body=request.get_data(),
                    authorized=None if authorize is None else bool(answer),
                )
            )
        )
        return Response(
            result.body, result.status, headers=result.headers, content_type=result.content_type
        )

    blueprint.add_url_rule("/", "dashboard", serve, methods=METHODS, defaults={"path": ""})
    blueprint.add_url_rule("/<path:path>", "dashboard", serve, methods=METHODS)
    return blueprint
