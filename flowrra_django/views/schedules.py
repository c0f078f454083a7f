"""Schedules: the list with next runs, the create and edit form with its live preview of
the next run times, and enable, disable, delete and run now."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from flowrra.ui import ScheduleValidationError
from flowrra.ui.schedule_definition import preview
from flowrra.ui.schedule_form import COMMON_ZONES, SCHEDULE_TYPES, form_values, new_values
from flowrra.ui.web.rendering import render

from .. import dashboard
from ..runtime import get_app
from .access import ActionView
from .pages import DashboardPage

_LIST = "flowrra:schedules"


class ScheduleListView(DashboardPage):
    page = "schedules.html"
    section = "schedules"
    title = "Schedules"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.services(lambda s: s.ui.get_schedules_page_data()))
        return context


def _posted(data: Any) -> dict[str, Any]:
    values = {key: data.get(key, "") for key in data}
    values["enabled"] = bool(data.get("enabled"))
    return values


class ScheduleFormView(DashboardPage):
    """Create (no ``schedule_id``) or edit a schedule; POST saves or shows the errors."""

    page = "schedule_form.html"
    section = "schedules"

    def permission(self) -> str:
        verb = "change" if "schedule_id" in self.kwargs else "add"
        return f"flowrra_django.{verb}_scheduledtask"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and request.user.is_staff:
            self.kwargs = kwargs
            if not request.user.has_perm(self.permission()):
                raise PermissionDenied(f"This page needs the {self.permission()} permission.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        schedule_id = self.kwargs.get("schedule_id")
        registry = sorted(spec.name for spec in get_app().registry)
        context.update(
            schedule_id=schedule_id,
            title="Edit schedule" if schedule_id else "New schedule",
            task_names=registry,
            default_timezone=settings.TIME_ZONE or "UTC",
            schedule_types=SCHEDULE_TYPES,
            common_zones=COMMON_ZONES,
        )
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        schedule_id = kwargs.get("schedule_id")
        if schedule_id:
            schedule = self.services(lambda s: s.schedules.get_schedule(schedule_id))
            if schedule is None:
                raise Http404("No schedule with this id.")
            values = form_values(schedule)
        else:
            values = new_values(request.GET, settings.TIME_ZONE or "UTC")
        return self._render(context, values, {})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = request.POST
        schedule_id = kwargs.get("schedule_id")
        if "_preview" in data:  # the preview button, for browsers without JavaScript
            return self._render(self.get_context_data(**kwargs), _posted(data), {})

        async def save(services: dashboard.Services) -> str | None:
            if schedule_id:
                found = await services.schedules.update_schedule(schedule_id, data)
                return schedule_id if found else None
            return await services.schedules.create_schedule(data)

        try:
            saved = self.services(save)
        except ScheduleValidationError as exc:
            context = self.get_context_data(**kwargs)
            return self._render(context, _posted(data), exc.errors, status=400)
        if saved is None:
            raise Http404("No schedule with this id.")
        messages.success(request, "Saved the schedule.")
        return HttpResponseRedirect(reverse(_LIST))

    def _render(
        self,
        context: dict[str, Any],
        values: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
    ) -> HttpResponse:
        runs, problem = preview(values)
        context.update(values=values, errors=errors, preview=runs, preview_error=problem)
        return self.render_to_response(context, status=status)


class SchedulePreviewView(DashboardPage):
    """The next five run times of the definition in the query string, as an HTML fragment
    (the form's script fetches it while the user types; it works as a page too)."""

    section = "schedules"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        values = {
            key: request.GET.get(key, "")[:300] for key in ("schedule_type", "schedule", "timezone")
        }
        runs, problem = preview(values)
        context = {"preview": runs, "preview_error": problem, "values": values}
        zone = timezone.get_current_timezone()
        return HttpResponse(render(zone, "flowrra/schedule_preview.html", context))


class ScheduleActionView(ActionView):
    """enable, disable, delete or run now (``action``), by permission."""

    action = "enable"

    @property
    def permission(self) -> str:  # type: ignore[override]  # read-only: follows the action
        verb = "delete" if self.action == "delete" else "change"
        return f"flowrra_django.{verb}_scheduledtask"

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        schedule_id = kwargs["schedule_id"]
        back = reverse(_LIST)

        async def run(services: dashboard.Services) -> tuple[str, str]:
            schedules = services.schedules
            if await schedules.get_schedule(schedule_id) is None:
                raise Http404("No schedule with this id.")
            if self.action == "enable":
                await schedules.enable_schedule(schedule_id)
                return "Enabled the schedule.", back
            if self.action == "disable":
                await schedules.disable_schedule(schedule_id)
                return "Disabled the schedule.", back
            if self.action == "delete":
                await schedules.delete_schedule(schedule_id)
                return "Deleted the schedule.", back
            task_id = await schedules.run_now(schedule_id)
            return "Submitted the task now.", reverse("flowrra:task", args=[task_id])

        try:
            text, target = dashboard.call(run)
        except ValueError as exc:
            return messages.ERROR, f"Not changed: {exc}.", back
        return messages.SUCCESS, text, target
