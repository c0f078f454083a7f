"""``/flowrra/health``: for load balancers and uptime probes, so no login."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from .. import health
from .api.base import ApiEncoder


@method_decorator(never_cache, name="dispatch")
class HealthView(View):
    """200 when every part answers, 503 naming the parts that are down."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        report = health.health()
        status = 503 if report["down"] else 200
        return JsonResponse(report, status=status, encoder=ApiEncoder)
