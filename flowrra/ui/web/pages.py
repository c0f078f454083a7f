"""The dashboard's pages outside Django: each asks a ``flowrra.ui`` service for its data and
renders its Jinja2 template (the Django app renders the same templates in the admin's frame)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ...backends.query import SEARCH_WINDOW
from ...task import TaskStatus
from ..chart import throughput_svg
from ..filters import PAGE_SIZES, RANGES, parse_task_filters
from ..schedule_form import COMMON_ZONES, SCHEDULE_TYPES, form_values, new_values
from ..schedules import preview
from .http import Request, Response
from .rendering import ACTIONS, render

if TYPE_CHECKING:
    from .site import Dashboard

NAVIGATION = (
    ("overview", "Overview", ""),
    ("tasks", "Tasks", "tasks/"),
    ("workers", "Workers", "workers/"),
    ("queues", "Queues", "queues/"),
    ("schedules", "Schedules", "schedules/"),
)
#: Who sees the pages here may use every action; the buttons call the JSON API.
CAPABILITIES = dict.fromkeys(ACTIONS, True)
COMMANDS = {"worker": "flowrra worker", "beat": ""}


def _page(
    dashboard: Dashboard,
    request: Request,
    template: str,
    section: str,
    title: str,
    data: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    """``template`` with ``data`` and what every page shares: navigation, section URLs,
    static files, actions, and how the page stays current (its ``live_scope`` block)."""
    urls = {name: request.base + suffix for name, _, suffix in NAVIGATION}
    static = request.base + "static/"
    context = {
        **data,
        "title": title,
        "section": section,
        "navigation": [(name, label, urls[name]) for name, label, _ in NAVIGATION],
        "urls": urls,
        "static": lambda name: static + name,
        "api": request.base + "api/",
        "forms": False,
        "can": CAPABILITIES,
        "commands": COMMANDS,
        "live": dashboard.live,
        "live_ws": dashboard.websocket_path or request.base + "ws",
        "live_poll_ms": int(dashboard.poll_seconds * 1000),
        "request_path": request.base + request.path,
    }
    return Response(status, render(dashboard.timezone, f"flowrra/{template}", context))


def _message(
    dashboard: Dashboard, request: Request, title: str, message: str, status: int
) -> Response:
    """What was wrong with the request, inside the dashboard's frame."""
    context = {"error": message}
    return _page(dashboard, request, "bad_request.html", "", title, context, status=status)


async def not_found(dashboard: Dashboard, request: Request, message: str) -> Response:
    return _message(dashboard, request, "Not found", message, 404)


async def overview(dashboard: Dashboard, request: Request) -> Response:
    data = await dashboard.ui.get_dashboard_data()
    from markupsafe import Markup

    # the SVG is built from numbers and escaped time labels only
    chart = Markup(throughput_svg(data["throughput"], dashboard.timezone))
    return _page(
        dashboard, request, "overview.html", "overview", "Overview", {**data, "chart": chart}
    )


async def tasks(dashboard: Dashboard, request: Request) -> Response:
    try:
        filters = parse_task_filters(request.query, timezone=dashboard.timezone)
        data = await dashboard.ui.get_tasks_page_data(query=filters.query)
    except ValueError as exc:  # InvalidFilter, or a cursor this backend did not make
        return _message(dashboard, request, "Bad request", str(exc), 400)
    params = {key: list(values) for key, values in request.query.items() if key != "after"}
    first_page = not request.query.get("after")
    context: dict[str, Any] = {
        **data,
        "filters": filters.values,
        "filtered": filters.query.filtered,
        "statuses": [status.value for status in TaskStatus],
        "ranges": list(RANGES),
        "page_sizes": PAGE_SIZES,
        "first_page_query": urlencode(params, doseq=True),
        "first_page": first_page,
        "search_window": f"{SEARCH_WINDOW:,}",
        "next_page_query": "",
    }
    if data["next_cursor"]:
        context["next_page_query"] = urlencode({**params, "after": data["next_cursor"]}, doseq=True)
    return _page(dashboard, request, "tasks.html", "tasks", "Tasks", context)


async def task_detail(dashboard: Dashboard, request: Request, task_id: str) -> Response:
    full = request.query.get("full", [""])[-1] == "1"
    detail = await dashboard.ui.get_task_detail(task_id, full=full)
    if detail is None:
        return await not_found(dashboard, request, "No task with this id is stored.")
    context = {**detail, "full": full}
    return _page(dashboard, request, "task_detail.html", "tasks", f"Task {task_id}", context)


async def workers(dashboard: Dashboard, request: Request) -> Response:
    data = await dashboard.ui.get_workers_page_data()
    return _page(dashboard, request, "workers.html", "workers", "Workers", data)


async def worker_detail(dashboard: Dashboard, request: Request, worker_id: str) -> Response:
    detail = await dashboard.ui.get_worker_detail(worker_id)
    if detail is None:
        return await not_found(dashboard, request, "No worker with this id has been seen lately.")
    title = f"Worker {worker_id}"
    return _page(dashboard, request, "worker_detail.html", "workers", title, detail)


async def queues(dashboard: Dashboard, request: Request) -> Response:
    data = await dashboard.ui.get_queues_page_data()
    return _page(dashboard, request, "queues.html", "queues", "Queues", data)


async def schedules(dashboard: Dashboard, request: Request) -> Response:
    data = await dashboard.ui.get_schedules_page_data()
    return _page(dashboard, request, "schedules.html", "schedules", "Schedules", data)


async def schedule_form(
    dashboard: Dashboard, request: Request, schedule_id: str | None = None
) -> Response:
    """Create (no ``schedule_id``) or edit a schedule; the form saves through the API."""
    zone = getattr(dashboard.timezone, "key", None) or str(dashboard.timezone)
    if schedule_id is None:
        values = new_values(request.query, zone)
    else:
        schedule = await dashboard.schedules.get_schedule(schedule_id)
        if schedule is None:
            return await not_found(dashboard, request, "No schedule with this id.")
        values = form_values(schedule)
    runs, problem = preview(values)
    context = {
        "schedule_id": schedule_id,
        "task_names": sorted(spec.name for spec in dashboard.app.registry),
        "default_timezone": zone,
        "schedule_types": SCHEDULE_TYPES,
        "common_zones": COMMON_ZONES,
        "values": values,
        "errors": {},
        "preview": runs,
        "preview_error": problem,
    }
    title = "Edit schedule" if schedule_id else "New schedule"
    return _page(dashboard, request, "schedule_form.html", "schedules", title, context)


async def schedule_preview(dashboard: Dashboard, request: Request) -> Response:
    """The next run times of the definition in the query string, as an HTML fragment (the
    form's script fetches it while the user types)."""
    values = {
        key: (request.query.get(key) or [""])[-1][:300]
        for key in ("schedule_type", "schedule", "timezone")
    }
    runs, problem = preview(values)
    context = {"preview": runs, "preview_error": problem, "values": values}
    body = render(dashboard.timezone, "flowrra/schedule_preview.html", context)
    return Response(200, body)
