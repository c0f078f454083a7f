"""The health of a Flowrra deployment as ``/flowrra/health`` reports it: the database,
the broker, the result backend and the beat, each ``ok`` or ``down``, with nothing a
stranger should learn (no URLs, no error texts, no task data: those go to the log)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.db import connections

from flowrra.ui.health import (
    BEAT_STALE_AFTER,
    DOWN,
    OK,
    PING_TIMEOUT,
    UNKNOWN,
    beat_status,
    elapsed_ms,
    ping_components,
    report,
)

from . import runtime
from .models import BeatPass, ScheduledTask

__all__ = ["BEAT_STALE_AFTER", "PING_TIMEOUT", "check_beat", "health"]

logger = logging.getLogger("flowrra.health")


def check_databases() -> dict[str, Any]:
    """``SELECT 1`` on each configured database."""
    started = time.perf_counter()
    down = []
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            logger.warning("Health: database %r does not answer", alias, exc_info=True)
            connections[alias].close_if_unusable_or_obsolete()
            down.append(alias)
    result: dict[str, Any] = {"status": DOWN if down else OK, "latency_ms": elapsed_ms(started)}
    if down:
        result["aliases_down"] = down
    return result


def check_components() -> dict[str, dict[str, Any]]:
    """Ping the app's broker and result backend, each within :data:`PING_TIMEOUT`."""

    async def ping_all() -> dict[str, dict[str, Any]]:
        return await ping_components(runtime.get_app())

    try:
        return runtime.run_sync(ping_all)
    except Exception:  # the app could not start: neither can be reached through it
        logger.warning("Health: the Flowrra app did not start", exc_info=True)
        return {name: {"status": DOWN} for name in ("broker", "result_backend")}


def check_beat(now: dt.datetime | None = None) -> dict[str, Any]:
    """When a beat last finished a pass; ``down`` when that is older than
    :data:`BEAT_STALE_AFTER` and a schedule is enabled, ``not_running`` when no schedule
    needs it."""
    try:
        last = (
            BeatPass.objects.order_by("-last_pass_at")
            .values_list("last_pass_at", flat=True)
            .first()
        )
        needed = ScheduledTask.objects.filter(enabled=True).exists()
    except Exception:
        logger.warning("Health: cannot read the beat's last pass", exc_info=True)
        return {"status": UNKNOWN, "last_pass_at": None, "age_seconds": None}
    return beat_status(last, needed, now)


def health() -> dict[str, Any]:
    """Every check; ``status`` is ``down`` with ``down`` naming the failed parts."""
    return report({"database": check_databases(), **check_components(), "beat": check_beat()})
