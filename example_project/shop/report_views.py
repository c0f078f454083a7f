"""The Django Tasks page: enqueue ``summarize_results`` with ``Task.enqueue`` and follow it
with ``Task.get_result``, as any ``django.tasks`` code would."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from .reports import summarize_results
from .views import site_context

try:
    from django.tasks.exceptions import TaskResultDoesNotExist
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks.exceptions import TaskResultDoesNotExist  # type: ignore[no-redef]

SESSION_KEY = "shop_report_ids"


class ReportForm(forms.Form):
    hours = forms.IntegerField(min_value=1, max_value=24 * 365, initial=24)


class ReportView(LoginRequiredMixin, View):
    """GET: the form and this session's latest reports; POST: enqueue one."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, ReportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReportForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, status=400)
        result = summarize_results.enqueue(form.cleaned_data["hours"])
        request.session[SESSION_KEY] = [result.id, *request.session.get(SESSION_KEY, [])][:10]
        messages.success(request, f"Enqueued {result.task.name} as {result.id}.")
        return redirect("shop:report")

    def _page(self, request: HttpRequest, form: ReportForm, status: int = 200) -> HttpResponse:
        results = []
        for result_id in request.session.get(SESSION_KEY, []):
            try:
                results.append(summarize_results.get_result(result_id))
            except TaskResultDoesNotExist:
                continue  # cleaned up since
        context = {**site_context(request), "form": form, "results": results}
        return render(request, "shop/report.html", context, status=status)
