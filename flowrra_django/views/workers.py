"""Workers from their heartbeats, and one worker's page."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from .pages import DashboardPage


class WorkerListView(DashboardPage):
    template_name = "flowrra_django/workers.html"
    section = "workers"
    title = "Workers"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.services(lambda s: s.ui.get_workers_page_data()))
        return context


class WorkerDetailView(DashboardPage):
    template_name = "flowrra_django/worker_detail.html"
    section = "workers"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        worker_id = kwargs["worker_id"]
        detail = self.services(lambda s: s.ui.get_worker_detail(worker_id))
        if detail is None:
            raise Http404("No worker with this id has been seen lately.")
        context.update(detail, title=f"Worker {worker_id}")
        return context
