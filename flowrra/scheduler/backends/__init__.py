"""Scheduler stores, chosen by URL scheme through :data:`SCHEDULER_BACKENDS`."""

from __future__ import annotations

from ...plugins import SchemeRegistry
from .base import BaseSchedulerBackend, Claim
from .memory import MemorySchedulerBackend

SCHEDULER_BACKENDS = SchemeRegistry("scheduler backend")
SCHEDULER_BACKENDS.register("memory", "flowrra.scheduler.backends.memory:MemorySchedulerBackend")
SCHEDULER_BACKENDS.register("sqlite", "flowrra.scheduler.backends.sqlite:SQLiteSchedulerBackend")
for _scheme in ("postgresql", "postgres"):
    SCHEDULER_BACKENDS.register(
        _scheme, "flowrra.scheduler.backends.postgresql:PostgreSQLSchedulerBackend", "postgres"
    )
for _scheme in ("mysql", "mariadb"):
    SCHEDULER_BACKENDS.register(
        _scheme, "flowrra.scheduler.backends.mysql:MySQLSchedulerBackend", "mysql"
    )


def create_backend(backend: BaseSchedulerBackend | str | None = None) -> BaseSchedulerBackend:
    """A store from an instance (returned as is), a URL such as ``sqlite:///schedule.db``,
    ``postgresql://host/db``, ``mysql://host/db``, ``memory://`` or ``django://``, or None
    for ``.flowrra_schedule.db``."""
    if isinstance(backend, BaseSchedulerBackend):
        return backend
    url = backend or "sqlite://"
    created: BaseSchedulerBackend = SCHEDULER_BACKENDS.resolve(url)(url)
    return created


__all__ = [
    "SCHEDULER_BACKENDS",
    "BaseSchedulerBackend",
    "Claim",
    "MemorySchedulerBackend",
    "create_backend",
]
