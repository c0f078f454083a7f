"""What every dashboard page shares: the admin's context, the navigation, the services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.generic import TemplateView

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


class DashboardPage(StaffRequiredMixin, TemplateView):
    """A page inside the admin's look; ``section`` marks its navigation tab."""

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
            perms_flowrra=_permissions(self.request.user),
            urls=urls,
        )
        return context


def prefixes() -> dict[str, str]:
    """The dashboard's section URLs; templates append ids to them (one ``reverse`` per
    section, not one per link: a page of 50 tasks has 150 links)."""
    return {name: reverse(f"flowrra:{name}") for name, _ in NAVIGATION}


def _permissions(user: Any) -> dict[str, bool]:
    """The dashboard actions ``user`` may use (templates hide the others)."""
    return {
        "control": user.has_perm("flowrra_django.change_taskresult"),
        "add_schedule": user.has_perm("flowrra_django.add_scheduledtask"),
        "change_schedule": user.has_perm("flowrra_django.change_scheduledtask"),
        "delete_schedule": user.has_perm("flowrra_django.delete_scheduledtask"),
        "control_worker": user.has_perm("flowrra_django.control_worker"),
    }


def bad_request(request: Any, context: dict[str, Any], message: str) -> TemplateResponse:
    """The 400 page: what was wrong with the request, inside the dashboard's frame."""
    context = {**context, "error": message, "title": "Bad request"}
    return TemplateResponse(request, "flowrra_django/bad_request.html", context, status=400)
