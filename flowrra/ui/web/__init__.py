"""The dashboard outside Django, framework-free: a request in, a response out.

:class:`~flowrra.ui.web.site.Dashboard` answers the dashboard's pages (Jinja2 templates),
its JSON API, health, metrics and static files from the ``flowrra.ui`` services; the
FastAPI, Flask and Quart adapters (:mod:`flowrra.ui.fastapi`, :mod:`flowrra.ui.flask`,
:mod:`flowrra.ui.quart`, :mod:`flowrra.ui.quart_websocket`) only translate their
framework's requests to :class:`~flowrra.ui.web.http.Request` and back. The Django app
renders its pages with the same templates (:mod:`flowrra.ui.web.rendering`). Importing this
package imports no web framework (Jinja2 is imported when a page is first rendered).
"""

from .http import Request, Response
from .site import Dashboard

__all__ = ["Dashboard", "Request", "Response"]
