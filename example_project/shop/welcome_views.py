"""The demo's first page: what the demo is, which processes run it, and the login form;
a logged-in visitor goes straight to the live dashboard (to the shop when not staff)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.shortcuts import resolve_url

from flowrra_django import live
from flowrra_django.conf import flowrra_settings

from .views import site_context


def running_on() -> str:
    """Where this site's tasks travel, results stay and live pages learn of changes, in words."""
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    database = {"sqlite3": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL"}.get(
        database, database
    )
    options = flowrra_settings()
    on_redis = str(options["BROKER_URL"]).startswith(("redis://", "rediss://"))
    results_on_redis = str(options["RESULT_BACKEND"]).startswith(("redis://", "rediss://"))
    live_on_redis = live.mode() == "channels"
    if not (on_redis or results_on_redis or live_on_redis):
        return (
            f"One {database} database is the queue, the result store and where the pages "
            "read what changed: no Redis, no other server."
        )
    queue = "Redis" if on_redis else f"the {database} database"
    results = "Redis" if results_on_redis else database
    changes = "Redis (a Channels layer)" if live_on_redis else "the database"
    return (
        f"Tasks travel through {queue}, results stay in {results}, and the pages learn of "
        f"changes through {changes}."
    )


class WelcomeView(LoginView):
    template_name = "shop/welcome.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        """Staff land on the live dashboard; other users on the shop (the dashboard is
        for staff only)."""
        user = self.request.user
        return resolve_url("flowrra:overview" if user.is_staff else "shop:index")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(site_context(self.request))
        context.update(
            title="Flowrra demo",
            app_path=self.request.get_full_path(),
            demo_account=settings.DEMO_ACCOUNT,
            running_on=running_on(),
        )
        return context
