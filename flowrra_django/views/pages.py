"""What every dashboard page shares: the admin's context, the navigation, the services, and
the rendering of the page's markup (the core's Jinja2 templates, the one home of every
page's markup) inside the admin's frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest
from django.template.backends.utils import csrf_input_lazy
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from flowrra.ui.web.rendering import ACTIONS, render_blocks

from .. import dashboard
from .access import StaffRequiredMixin

T = TypeVar("T")

NAVIGATION = (
    ("overview", "Overview"),
    ("tasks", "Tasks"),
    ("workers", "Workers"),
    ("queues", "Queues"),
    ("schedules", "Schedules"),
)
COMMANDS = {"worker": "manage.py flowrra_worker", "beat": "manage.py flowrra_beat"}
#: The permission each of the pages' actions needs.
PERMISSIONS = {
    "control": "flowrra_django.change_taskresult",
    "add_schedule": "flowrra_django.add_scheduledtask",
    "change_schedule": "flowrra_django.change_scheduledtask",
    "delete_schedule": "flowrra_django.delete_scheduledtask",
    "control_worker": "flowrra_django.control_worker",
}


class DashboardPage(StaffRequiredMixin, TemplateView):
    """A page inside the admin's look: ``page`` names its template in
    ``flowrra/ui/templates/flowrra/``, ``section`` marks its navigation tab."""

    page = "overview.html"
    section = "overview"
    title = ""

    def services(self, use: Callable[[dashboard.Services], Awaitable[T]]) -> T:
        return dashboard.call(use)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        urls = prefixes()
        context.update(
            title=self.title,
            navigation=[(name, label, urls[name]) for name, label in NAVIGATION],
            section=self.section,
            can=_permissions(self.request.user),
            urls=urls,
        )
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> TemplateResponse:
        return render_page(self.request, self.page, context, **kwargs)


def prefixes() -> dict[str, str]:
    """The dashboard's section URLs; templates append ids to them (one ``reverse`` per
    section, not one per link: a page of 50 tasks has 150 links)."""
    return {name: reverse(f"flowrra:{name}") for name, _ in NAVIGATION}


def _permissions(user: Any) -> dict[str, bool]:
    """The dashboard actions ``user`` may use (templates hide the others)."""
    return {action: user.has_perm(PERMISSIONS[action]) for action in ACTIONS}


def render_page(
    request: HttpRequest, page: str, context: dict[str, Any], status: int = 200
) -> TemplateResponse:
    """``flowrra/<page>`` rendered by the core's Jinja2 environment with ``context`` (in the
    active time zone), its blocks placed in the admin's frame by ``flowrra_django/page.html``;
    its actions are forms posted to the pages' own URLs, with the CSRF token."""
    shared = {
        **context,
        "forms": True,
        "csrf_input": csrf_input_lazy(request),
        "static": _static,
        "commands": COMMANDS,
        "request_path": request.path,
    }
    blocks = render_blocks(timezone.get_current_timezone(), f"flowrra/{page}", shared)
    context = {**context, "blocks": blocks}
    return TemplateResponse(request, "flowrra_django/page.html", context, status=status)


def _static(name: str) -> str:
    return static(f"flowrra_django/{name}")


def bad_request(request: HttpRequest, context: dict[str, Any], message: str) -> TemplateResponse:
    """The 400 page: what was wrong with the request, inside the dashboard's frame."""
    context = {**context, "error": message, "title": "Bad request"}
    return render_page(request, "bad_request.html", context, status=400)
