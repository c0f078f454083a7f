"""The overview: counts, the last hour's chart, failures, workers, queues, next runs."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.safestring import mark_safe

from flowrra.ui.chart import throughput_svg

from .pages import DashboardPage


class OverviewView(DashboardPage):
    page = "overview.html"
    section = "overview"
    title = "Overview"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        data = self.services(lambda s: s.ui.get_dashboard_data())
        zone = timezone.get_current_timezone()
        # the SVG is built from numbers and escaped time labels only
        chart = mark_safe(throughput_svg(data["throughput"], zone))
        context.update(data, chart=chart)
        return context
