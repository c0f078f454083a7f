"""What the ``django://`` broker tells dashboards: messages per queue and priority, and
the workers seen lately (one grouped query each)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db.models import Count, Q, QuerySet

from flowrra.brokers.stats import QueueLevel, worker_entry

from .models import QueuedMessage, WorkerHeartbeat


def queue_levels(messages: QuerySet[QueuedMessage]) -> list[QueueLevel]:
    """Ready, delayed and held messages per queue and priority."""
    now = time.time()
    unclaimed = Q(ready=False, claimed_by__isnull=True)
    rows = (
        messages.values("queue", "priority")
        .annotate(
            ready_n=Count("id", filter=Q(ready=True) | (unclaimed & Q(available_at__lte=now))),
            delayed_n=Count("id", filter=unclaimed & Q(available_at__gt=now)),
            held_n=Count("id", filter=Q(ready=False, claimed_by__isnull=False)),
        )
        .order_by("queue", "-priority")
    )
    return [
        QueueLevel(row["queue"], row["priority"], row["ready_n"], row["delayed_n"], row["held_n"])
        for row in rows
    ]


def workers_seen(beats: QuerySet[WorkerHeartbeat], retention: float) -> list[dict[str, Any]]:
    """Heartbeats not expired, or expired less than ``retention`` seconds ago."""
    horizon = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=retention)
    rows = beats.filter(expires_at__gt=horizon).order_by("worker_id")
    return [
        worker_entry(info, expires.timestamp())
        for info, expires in rows.values_list("info", "expires_at")
    ]
