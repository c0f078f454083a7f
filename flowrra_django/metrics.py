"""``/flowrra/metrics``: the deployment in Prometheus text format, gathered per scrape
(see :mod:`flowrra.ui.metrics`)."""

from __future__ import annotations

import time

from flowrra.ui import metrics
from flowrra.ui.metrics import CONTENT_TYPE_LATEST

from . import dashboard

__all__ = ["CONTENT_TYPE_LATEST", "render"]


def render() -> bytes:
    """This scrape's metrics in Prometheus text format."""
    started = time.perf_counter()
    data = dashboard.call(lambda s: s.ui.get_metrics_data())
    return metrics.render(data, started)
