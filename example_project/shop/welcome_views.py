"""The demo's first page: what the demo is, which processes run it, and the login form;
a logged-in visitor goes straight to the live dashboard (``LOGIN_REDIRECT_URL``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView

from flowrra_django import live
from flowrra_django.conf import flowrra_settings


def running_on() -> dict[str, str]:
    """Where this site's tasks travel and how its pages learn of changes, in words."""
    broker = str(flowrra_settings()["BROKER_URL"])
    return {
        "broker": "Redis" if broker.startswith(("redis://", "rediss://")) else "the database",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "live": "Redis (Channels)" if live.mode() == "channels" else "the database",
    }


class WelcomeView(LoginView):
    template_name = "shop/welcome.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        context.update(
            title="Flowrra demo",
            app_path=self.request.get_full_path(),
            demo_account=settings.DEMO_ACCOUNT,
            running_on=running_on(),
        )
        return context
