"""Who may see the dashboard and act in it: one mixin shared by every view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views import View

from ..conf import flowrra_settings


class StaffRequiredMixin(AccessMixin, View):
    """Anonymous users go to the admin login; logged-in users who are not active staff,
    or lack ``FLOWRRA["DASHBOARD_PERMISSION"]`` when it is set, get a 403."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("The Flowrra dashboard is for staff users.")
        required = flowrra_settings()["DASHBOARD_PERMISSION"]
        if required and not user.has_perm(required):
            raise PermissionDenied(f"The Flowrra dashboard needs the {required} permission.")
        return super().dispatch(request, *args, **kwargs)


class ActionView(StaffRequiredMixin, View):
    """A POST (CSRF-protected by the middleware) that needs ``permission`` and redirects
    back with a message; subclasses implement :meth:`act`."""

    http_method_names = ["post"]
    permission = ""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(self.permission):
            raise PermissionDenied(f"This action needs the {self.permission} permission.")
        level, text, target = self.act(request, **kwargs)
        messages.add_message(request, level, text)
        return HttpResponseRedirect(target)

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        """Do the action; (message level, message, URL to go to)."""
        raise NotImplementedError
