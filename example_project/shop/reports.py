"""A task written for Django's own Tasks framework (``django.tasks``), run by Flowrra through
``FlowrraTaskBackend`` (settings ``TASKS``): nothing in it is Flowrra's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils import timezone

from flowrra_django.models import TaskResult

try:
    from django.tasks import TaskContext, task
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import TaskContext, task  # type: ignore[no-redef]


@task(takes_context=True, queue_name="reports", priority=10)
def summarize_results(context: TaskContext, hours: int) -> dict[str, Any]:
    """Count the task results of the last ``hours`` by status (a regular function using the
    ORM: the worker runs it in a thread)."""
    since = timezone.now() - dt.timedelta(hours=hours)
    rows = (
        TaskResult.objects.filter(submitted_at__gte=since)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by("status")
    )
    return {"hours": hours, "by_status": dict(rows), "attempt": context.attempt}
