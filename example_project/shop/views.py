"""The shop page: submit example tasks, watch their latest results change live."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView

import flowrra_django
from flowrra_django.models import TaskResult

from . import tasks
from .forms import SubmitTaskForm

#: The session key holding the form's last submitted values (the form keeps them).
LAST_FORM = "shop_last_form"


def site_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin's frame of a page needs (header, user links), as the admin gives it."""
    return admin.site.each_context(request)


class DemoView(LoginRequiredMixin, FormView):
    """GET shows the form, and staff the 20 newest results of everyone (a live region of the
    page: it changes in place as tasks run); POST submits and redirects. Other users see
    no results: they are everyone's, arguments included."""

    template_name = "shop/index.html"
    form_class = SubmitTaskForm

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), **self.request.session.get(LAST_FORM, {})}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = {**super().get_context_data(**kwargs), **site_context(self.request)}
        staff = self.request.user.is_staff
        context["results"] = TaskResult.objects.order_by("-submitted_at")[:20] if staff else []
        context["urls"] = {name: reverse(f"flowrra:{name}") for name in ("tasks", "workers")}
        return context

    def form_valid(self, form: SubmitTaskForm) -> HttpResponse:
        data = form.cleaned_data
        arguments = self._arguments(data["task"], data)
        for _ in range(data["count"]):
            flowrra_django.submit(getattr(tasks, data["task"]), *arguments)
        self.request.session[LAST_FORM] = {name: form.data.get(name, "") for name in form.fields}
        messages.success(self.request, f"Submitted {data['task']} x{data['count']}.")
        return redirect("shop:index")

    def _arguments(self, name: str, data: dict[str, Any]) -> tuple[Any, ...]:
        request: HttpRequest = self.request
        return {
            "check_url": (data["url"] or request.build_absolute_uri(reverse("login")),),
            "send_welcome_email": (request.user.pk,),
            "count_primes": (data["limit"] if data["limit"] is not None else 2_000_000,),
            "charge_payment": (42, 9.99),
            "import_rows": ("apples,3\npears,x\n",),
            "place_order": (secrets.randbelow(900_000) + 100_000, {"apples": 12, "pears": 5}),
            "activity_report": (),
        }[name]
