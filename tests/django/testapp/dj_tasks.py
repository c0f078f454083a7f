"""Tasks of Django's own Tasks framework (``django.tasks``, or the ``django_tasks`` backport
on Django 5.2) that the tests enqueue through ``FlowrraTaskBackend``.

When ``FLOWRRA_TEST_SIGNAL_LOG`` names a file, the Tasks signals received in a process are
appended to it as ``<signal> <result id> <status> <pid>``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flowrra_django.models import TaskResult
from flowrra_django.tasks_compat import (
    TaskContext,
    task_enqueued,
    task_finished,
    task_started,
)

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task  # type: ignore[no-redef]


@task
def add(a: int, b: int) -> int:
    return a + b


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def noop(x: int) -> int:
    """The benchmark's task: the same no-op as django-tasks-db's in the peer harness."""
    return x


@task
def fail(message: str) -> None:
    raise ValueError(message)


@task
def record(path: str, token: str) -> str:
    """Append ``token`` to the file ``path``, so a test sees the order tasks ran in."""
    with open(path, "a") as handle:
        handle.write(f"{token}\n")
    return token


@task
def count_results() -> int:
    """Uses the ORM in the worker's thread for sync tasks."""
    return TaskResult.objects.count()


@task(takes_context=True)
def whoami(context: TaskContext, label: str) -> dict[str, Any]:
    return {"label": label, "id": context.task_result.id, "attempt": context.attempt}


@task(backend="retrying", takes_context=True)
async def flaky(context: TaskContext, failures: int) -> int:
    """Fail the first ``failures`` attempts, then return the attempt number."""
    if context.attempt <= failures:
        raise ConnectionError(f"attempt {context.attempt} failed")
    return context.attempt


@task(max_retries=5, retry_delay=0.5)
def patient() -> str:
    return "ok"


def _log_signal(name: str) -> Any:
    def receiver(sender: type, task_result: Any, **kwargs: Any) -> None:
        path = os.environ.get("FLOWRRA_TEST_SIGNAL_LOG")
        if path:
            with open(path, "a") as handle:
                handle.write(f"{name} {task_result.id} {task_result.status} {os.getpid()}\n")

    return receiver


_receivers = {
    signal: _log_signal(name)
    for signal, name in (
        (task_enqueued, "enqueued"),
        (task_started, "started"),
        (task_finished, "finished"),
    )
}
for _signal, _receiver in _receivers.items():
    _signal.connect(_receiver, weak=False)
