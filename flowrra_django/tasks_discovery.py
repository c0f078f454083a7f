"""Finding Django's tasks in a worker, by name.

A worker finds a task of Django's Tasks framework by its module path even when no module
imported it yet (a task outside ``tasks.py``), as ``import_string`` finds it, if its backend
is a ``FlowrraTaskBackend``; and it consumes the queues those backends list in ``QUEUES``
besides those of registered tasks. Importable without Django's Tasks framework.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from flowrra.registry import TaskSpec

from . import runtime

logger = logging.getLogger(__name__)

BACKEND_PATH = "flowrra_django.tasks_backend.FlowrraTaskBackend"


def backend_params() -> dict[str, Mapping[str, Any]]:
    """The ``TASKS`` entries whose backend is a ``FlowrraTaskBackend``, by alias."""
    configured = getattr(settings, "TASKS", None)
    if not isinstance(configured, Mapping):
        return {}
    return {
        alias: params
        for alias, params in configured.items()
        if isinstance(params, Mapping) and _is_flowrra_backend(params.get("BACKEND"))
    }


def _is_flowrra_backend(path: Any) -> bool:
    if path == BACKEND_PATH:
        return True
    if not isinstance(path, str):
        return False
    try:
        cls = import_string(path)
    except ImportError:
        return False
    from .tasks_backend import FlowrraTaskBackend

    return isinstance(cls, type) and issubclass(cls, FlowrraTaskBackend)


def install() -> None:
    """Let this process's app find Django's tasks by name and consume their queues (called
    when the Django app is ready; nothing happens without a ``FlowrraTaskBackend``)."""
    configured = backend_params()
    if not configured:
        return
    registry = runtime.get_app().registry
    registry.add_finder(find_task)
    for params in configured.values():
        with contextlib.suppress(TypeError, ValueError):  # the system checks report it
            registry.declare_queues(params.get("QUEUES", ["default"]))


def declared_task(name: str | None) -> Any:
    """The Django task (``Task``) at the dotted path ``name``, or None."""
    if not name or "." not in name:
        return None
    try:
        found = import_string(name)
    except ImportError:
        return None
    except Exception:
        logger.warning("Importing the Django task %r failed", name, exc_info=True)
        return None
    from .tasks_compat import Task

    return found if isinstance(found, Task) else None


def find_task(name: str) -> TaskSpec | None:
    """The Flowrra task for the Django task at the dotted path ``name``, or None."""
    found = declared_task(name)
    if found is None:
        return None
    from .tasks_backend import FlowrraTaskBackend
    from .tasks_compat import InvalidTaskBackend
    from .tasks_runner import spec_for

    try:
        backend = found.get_backend()
    except InvalidTaskBackend:
        return None
    if not isinstance(backend, FlowrraTaskBackend):
        return None
    return spec_for(found, backend)
