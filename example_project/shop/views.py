"""The demo page: submit example tasks, watch their latest results."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView

import flowrra_django
from flowrra_django.models import TaskResult

from . import tasks
from .forms import SubmitTaskForm


class DemoView(LoginRequiredMixin, FormView):
    """GET shows the form, and staff the 20 newest results of everyone; POST submits and
    redirects. Other users see no results: they are everyone's, arguments included."""

    template_name = "shop/index.html"
    form_class = SubmitTaskForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        staff = self.request.user.is_staff
        context["results"] = TaskResult.objects.order_by("-submitted_at")[:20] if staff else []
        return context

    def form_valid(self, form: SubmitTaskForm) -> HttpResponse:
        data = form.cleaned_data
        arguments = self._arguments(data["task"], data)
        for _ in range(data["count"]):
            flowrra_django.submit(getattr(tasks, data["task"]), *arguments)
        messages.success(self.request, f"Submitted {data['task']} x{data['count']}.")
        return redirect("shop:index")

    def _arguments(self, name: str, data: dict[str, Any]) -> tuple[Any, ...]:
        request: HttpRequest = self.request
        return {
            "check_url": (data["url"] or request.build_absolute_uri(reverse("admin:login")),),
            "send_welcome_email": (request.user.pk,),
            "count_primes": (data["limit"] if data["limit"] is not None else 2_000_000,),
            "charge_payment": (42, 9.99),
            "import_rows": ("apples,3\npears,x\n",),
            "place_order": (secrets.randbelow(900_000) + 100_000, {"apples": 12, "pears": 5}),
            "activity_report": (),
        }[name]
