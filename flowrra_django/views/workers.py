"""Workers from their heartbeats, and one worker's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.urls import reverse

from flowrra.control import ControlError
from flowrra.exceptions import UnsupportedFeatureError

from .access import ActionView
from .pages import DashboardPage


class WorkerListView(DashboardPage):
    page = "workers.html"
    section = "workers"
    title = "Workers"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.services(lambda s: s.ui.get_workers_page_data()))
        return context


class WorkerDetailView(DashboardPage):
    page = "worker_detail.html"
    section = "workers"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        worker_id = kwargs["worker_id"]
        detail = self.services(lambda s: s.ui.get_worker_detail(worker_id))
        if detail is None:
            raise Http404("No worker with this id has been seen lately.")
        context.update(detail, title=f"Worker {worker_id}")
        return context


class WorkerControlView(ActionView):
    """A remote-control command from the worker's page; the worker's reply is shown there."""

    permission = "flowrra_django.control_worker"

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        from .. import dashboard

        worker_id = kwargs["worker_id"]
        back = reverse("flowrra:worker", args=[worker_id])
        command = request.POST.get("command", "")
        try:
            reply = dashboard.call(lambda s: s.ui.control_worker(worker_id, command, request.POST))
        except (ControlError, LookupError, UnsupportedFeatureError) as exc:
            return messages.ERROR, f"Not sent: {exc}.", back
        if reply is None:
            return messages.WARNING, f"No reply to {command} from the worker in time.", back
        if reply["ok"]:
            return messages.SUCCESS, f"The worker replied to {command}: “{reply['message']}”.", back
        return messages.ERROR, f"The worker refused {command}: “{reply['message']}”.", back
