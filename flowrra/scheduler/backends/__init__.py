"""Schedule stores, chosen by URL scheme through :data:`SCHEDULE_STORES`.

The project's word for them is "schedule store"; the classes keep the ``SchedulerBackend``
names of the public API (``BaseSchedulerBackend``, ``app.create_scheduler(backend=...)``).
"""

from __future__ import annotations

from ...plugins import SchemeRegistry
from .base import BaseSchedulerBackend, Claim
from .memory import MemorySchedulerBackend

SCHEDULE_STORES = SchemeRegistry("schedule store")
SCHEDULE_STORES.register("memory", "flowrra.scheduler.backends.memory:MemorySchedulerBackend")
SCHEDULE_STORES.register("sqlite", "flowrra.scheduler.backends.sqlite:SQLiteSchedulerBackend")
for _scheme in ("postgresql", "postgres"):
    SCHEDULE_STORES.register(
        _scheme, "flowrra.scheduler.backends.postgresql:PostgreSQLSchedulerBackend", "postgres"
    )
for _scheme in ("mysql", "mariadb"):
    SCHEDULE_STORES.register(
        _scheme, "flowrra.scheduler.backends.mysql:MySQLSchedulerBackend", "mysql"
    )


def create_store(backend: BaseSchedulerBackend | str | None = None) -> BaseSchedulerBackend:
    """A store from an instance (returned as is), a URL such as ``sqlite:///schedule.db``,
    ``postgresql://host/db``, ``mysql://host/db``, ``memory://`` or ``django://``, or None
    for ``.flowrra_schedule.db``."""
    if isinstance(backend, BaseSchedulerBackend):
        return backend
    url = backend or "sqlite://"
    created: BaseSchedulerBackend = SCHEDULE_STORES.resolve(url)(url)
    return created


__all__ = [
    "SCHEDULE_STORES",
    "BaseSchedulerBackend",
    "Claim",
    "MemorySchedulerBackend",
    "create_store",
]
