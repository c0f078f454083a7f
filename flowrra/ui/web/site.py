"""The :class:`Dashboard`: routes a framework-neutral request to a page, the JSON API,
health, metrics or a static file, after checking who is asking."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...exceptions import FlowrraError
from ...management import FlowrraManager
from .. import health
from ..api_requests import ApiProblem
from ..schedules import ScheduleService
from ..service import UIService
from . import api, pages
from .http import Access, Authorize, Request, Response, error
from .stream import ResultWatcher

if TYPE_CHECKING:
    from ...app import Flowrra
    from ...scheduler import Scheduler

logger = logging.getLogger("flowrra.ui")
Handler = Callable[..., Awaitable[Response]]

#: The one home of the dashboard's stylesheet and scripts, shared with the Django app.
STATIC_DIR = Path(__file__).resolve().parents[3] / "flowrra_django" / "static" / "flowrra_django"
STATIC_FILES = {
    "dashboard.css": "text/css; charset=utf-8",
    "standalone.css": "text/css; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "actions.js": "text/javascript; charset=utf-8",
    "schedule-preview.js": "text/javascript; charset=utf-8",
}


#: The HTTP methods the adapters route to the dashboard.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def add_blueprint_rules(blueprint: Any, view: Callable[..., Any]) -> None:
    """Route every dashboard path of a Flask or Quart blueprint (their API is one) to
    ``view(path)``."""
    blueprint.add_url_rule("/", "dashboard", view, methods=METHODS, defaults={"path": ""})
    blueprint.add_url_rule("/<path:path>", "dashboard", view, methods=METHODS)


def _routes(*table: tuple[str, str, Handler]) -> list[tuple[str, re.Pattern[str], Handler]]:
    return [(method, re.compile(pattern), handler) for method, pattern, handler in table]


PAGES = _routes(
    ("GET", r"", pages.overview),
    ("GET", r"tasks/", pages.tasks),
    ("GET", r"tasks/(?P<task_id>[^/]+)/", pages.task_detail),
    ("GET", r"workers/", pages.workers),
    ("GET", r"workers/(?P<worker_id>[^/]+)/", pages.worker_detail),
    ("GET", r"queues/", pages.queues),
    ("GET", r"schedules/", pages.schedules),
    ("GET", r"schedules/add/", pages.schedule_form),
    ("GET", r"schedules/preview/", pages.schedule_preview),
    ("GET", r"schedules/(?P<schedule_id>[^/]+)/", pages.schedule_form),
)
_ID = r"(?P<{}>[^/]+)"
API = _routes(
    ("GET", r"api/openapi\.json", api.openapi),
    ("GET", r"api/tasks/", api.task_list),
    ("POST", r"api/tasks/", api.task_submit),
    ("GET", rf"api/tasks/{_ID.format('task_id')}/", api.task_detail),
    ("POST", rf"api/tasks/{_ID.format('task_id')}/retry/", api.task_retry),
    ("POST", rf"api/tasks/{_ID.format('task_id')}/revoke/", api.task_revoke),
    ("POST", rf"api/tasks/{_ID.format('task_id')}/terminate/", api.task_terminate),
    ("GET", r"api/task-types/", api.task_types),
    ("GET", r"api/schedules/", api.schedule_list),
    ("POST", r"api/schedules/", api.schedule_create),
    ("GET", rf"api/schedules/{_ID.format('schedule_id')}/", api.schedule_detail),
    ("PUT", rf"api/schedules/{_ID.format('schedule_id')}/", api.schedule_save),
    ("PATCH", rf"api/schedules/{_ID.format('schedule_id')}/", api.schedule_save),
    ("DELETE", rf"api/schedules/{_ID.format('schedule_id')}/", api.schedule_delete),
    (
        "POST",
        rf"api/schedules/{_ID.format('schedule_id')}/(?P<action>enable|disable|run)/",
        api.schedule_act,
    ),
    ("GET", r"api/workers/", api.worker_list),
    ("GET", rf"api/workers/{_ID.format('worker_id')}/", api.worker_detail),
    ("POST", rf"api/workers/{_ID.format('worker_id')}/control/", api.worker_control),
    ("GET", r"api/queues/", api.queue_list),
    (
        "POST",
        rf"api/queues/dead/{_ID.format('letter_id')}/(?P<action>requeue|delete)/",
        api.dead_letter_action,
    ),
    ("GET", r"api/stats/", api.stats),
)


class Dashboard:
    """The dashboard of one Flowrra app, as the FastAPI, Flask and Quart adapters serve it.

    ``authorize(request) -> bool`` (the adapter calls it with its framework's request)
    decides who may see the pages and use the API; ``api_tokens`` let API and metrics
    clients in by ``Authorization: Bearer <token>``. With neither, only ``health`` answers.
    ``timezone`` is the zone pages show times in; ``scheduler`` the schedules' store
    (default: the app's). ``live`` is ``"websocket"`` (the page listens at ``ws``),
    ``"poll"`` (the page reloads what it shows every ``poll_seconds``) or ``"off"``.
    """

    def __init__(
        self,
        app: Flowrra,
        *,
        authorize: Authorize | None = None,
        api_tokens: Collection[str] = (),
        timezone: dt.tzinfo = dt.UTC,
        scheduler: Scheduler | None = None,
        live: str = "websocket",
        websocket_path: str | None = None,
        poll_seconds: float = 2.0,
        factory: str = "create_router",
    ) -> None:
        if isinstance(api_tokens, str):
            raise TypeError("api_tokens is a list of tokens, not one string")
        self.app = app
        self.manager = FlowrraManager(app, scheduler or app.scheduler)
        self.ui = UIService(self.manager)
        self.schedules = ScheduleService(self.manager)
        self.authorize = authorize
        self.access = Access(has_hook=authorize is not None, api_tokens=api_tokens, factory=factory)
        self.timezone = timezone
        self.live = live
        self.websocket_path = websocket_path
        self.poll_seconds = poll_seconds
        self.watcher = ResultWatcher(self)
        self._starting: asyncio.Lock | None = None

    async def ensure_started(self) -> None:
        """Connect the app's broker and backend (no worker) if nothing started it yet."""
        if self.app.is_running:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if not self.app.is_running:
                await self.app.start(worker=False)

    async def handle(self, request: Request) -> Response:
        """The response to ``request`` (never raises for a bad request or a store that is
        down: those are 4xx and 503 answers)."""
        path = request.path.lstrip("/")
        if path == "health":
            return await self._health()
        if path.startswith("static/"):
            return _static(path.removeprefix("static/"))
        is_api = path.startswith("api/") or path == "metrics"
        refused = self.access.refusal(request, api=is_api)
        if refused is not None:
            return refused
        try:
            await self.ensure_started()
            if path == "metrics":
                return await self._metrics()
            return await self._route(request, path, API if is_api else PAGES, is_api)
        except ApiProblem as problem:
            return error(problem.status, problem.message, problem.fields)
        except (FlowrraError, OSError, ConnectionError) as exc:
            logger.warning("Dashboard %s %s: %s", request.method, path, exc)
            message = "The broker or result backend did not answer."
            if is_api:
                return error(503, message)
            return Response(503, message.encode(), "text/plain; charset=utf-8")

    async def _route(self, request: Request, path: str, table: list[Any], is_api: bool) -> Response:
        allowed = []
        for method, pattern, handler in table:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if method == request.method or (method == "GET" and request.method == "HEAD"):
                return await handler(self, request, **found.groupdict())
            allowed.append(method)
        if allowed:
            return error(405, f"{request.method} is not allowed here.", Allow=", ".join(allowed))
        if is_api:
            return error(404, "No such API endpoint.")
        return await pages.not_found(self, request, "No such page.")

    async def _health(self) -> Response:
        try:
            await self.ensure_started()
            report = await health.health(self.app, self.manager.scheduler)
        except Exception:  # the app could not start: nothing can be reached through it
            logger.warning("Health: the Flowrra app did not start", exc_info=True)
            down = {"status": health.DOWN}
            report = health.report({"broker": down, "result_backend": dict(down)})
        return Response.json(report, 503 if report["down"] else 200)

    async def _metrics(self) -> Response:
        from .. import metrics

        started = time.perf_counter()
        data = await self.ui.get_metrics_data()
        return Response(200, metrics.render(data, started), metrics.CONTENT_TYPE_LATEST)


def _static(name: str) -> Response:
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return Response(404, b"No such file.", "text/plain; charset=utf-8")
    body = (STATIC_DIR / name).read_bytes()
    return Response(200, body, content_type, {"Cache-Control": "public, max-age=300"})
