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
        autodiscover_modules("tasks")
        install()
