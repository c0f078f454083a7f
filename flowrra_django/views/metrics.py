"""``/flowrra/metrics`` for Prometheus: staff login or an API bearer token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from .api.base import ApiView


@method_decorator(never_cache, name="dispatch")
class MetricsView(ApiView):
    """The Prometheus text exposition (see :mod:`flowrra_django.metrics`)."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from .. import metrics

        return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE_LATEST)
