"""The Django application: registers ``django://`` and discovers every app's ``tasks.py``."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class FlowrraConfig(AppConfig):
    name = "flowrra_django"
    verbose_name = "Flowrra"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .runtime import register_schemes
        from .tasks_discovery import install

        register_schemes()
        _tune_databases()
        autodiscover_modules("tasks")
        install()


def _tune_databases() -> None:
    """The SQLite database of a ``django://`` broker or result store gets what concurrent
    submitters and workers need (see :func:`.sqlite_options.tune_sqlite`)."""
    from django.conf import settings

    from .conf import flowrra_settings
    from .database_thread import database_alias
    from .sqlite_options import tune_sqlite

    for key in ("BROKER_URL", "RESULT_BACKEND"):
        url = flowrra_settings()[key]
        if isinstance(url, str) and url.lower().startswith("django://"):
            alias = database_alias(url)
            if alias in settings.DATABASES:  # else the system checks say so (E004)
                tune_sqlite(alias)
