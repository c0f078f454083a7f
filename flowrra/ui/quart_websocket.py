"""Live dashboard updates in a Quart application, over a websocket (``pip install quart``)::

    from quart import Quart
    from flowrra.ui.quart import create_blueprint
    from flowrra.ui.quart_websocket import setup_websocket

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(flowrra, authorize=...), url_prefix="/flowrra")
    setup_websocket(app)  # the websocket at /flowrra/ws

The messages are the Django consumer's (:mod:`flowrra.ui.live`): ``hello``, then
``task.update`` and ``worker.*`` events, coalesced per connection in a bounded outbox. A
connection is admitted by the dashboard's ``authorize`` hook (closed with 4401 when there
is none, 4403 when it refuses). Without the websocket, pages fall back to polling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import current_app, websocket

from .quart import EXTENSION
from .web.http import authorized
from .web.stream import serve_websocket

if TYPE_CHECKING:
    from ..app import Flowrra
    from .web import Dashboard

__all__ = ["setup_websocket", "websocket_endpoint"]


def _dashboard() -> Dashboard:
    dashboard = current_app.extensions.get(EXTENSION)
    if dashboard is None:
        raise LookupError(
            "No Flowrra dashboard in this Quart app: register "
            "flowrra.ui.quart.create_blueprint(flowrra, authorize=...) first, or call "
            "setup_websocket(app, flowrra=flowrra, authorize=...)."
        )
    return dashboard


async def websocket_endpoint() -> None:
    """The websocket route: streams the dashboard's events to one page until it leaves."""
    dashboard = _dashboard()
    native = websocket._get_current_object()  # type: ignore[attr-defined]
    await websocket.accept()
    refused = dashboard.access.websocket_refusal(
        await authorized(dashboard.authorize, native), dict(websocket.headers)
    )
    if refused is not None:
        await websocket.close(refused)
        return
    query = websocket.query_string.decode("latin-1")
    await serve_websocket(dashboard, query, websocket.send, websocket.receive)


def setup_websocket(
    app: Any, path: str = "/flowrra/ws", *, flowrra: Flowrra | None = None, **options: Any
) -> None:
    """Register :func:`websocket_endpoint` at ``path`` in the Quart ``app``.

    It serves the dashboard that :func:`flowrra.ui.quart.create_blueprint` registered; with
    no blueprint, pass ``flowrra`` (and the blueprint's options, such as ``authorize``).
    """
    if flowrra is not None and EXTENSION not in app.extensions:
        from .web import Dashboard

        app.extensions[EXTENSION] = Dashboard(flowrra, factory="setup_websocket", **options)
    app.add_websocket(path, "flowrra_websocket", websocket_endpoint)
