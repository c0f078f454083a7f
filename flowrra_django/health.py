"""The health of a Flowrra deployment as ``/flowrra/health`` reports it: the database,
the broker, the result backend and the beat, each ``ok`` or ``down``, with nothing a
stranger should learn (no URLs, no error texts, no task data: those go to the log)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from django.db import connections

from flowrra.task import utcnow

from . import runtime
from .models import BeatPass, ScheduledTask

logger = logging.getLogger("flowrra.health")

#: Seconds a broker or result backend has to answer a ping.
PING_TIMEOUT = 3.0
#: A beat whose last pass is older than this (seconds) is down, when schedules are enabled.
BEAT_STALE_AFTER = 60.0

OK, DOWN, NOT_RUNNING, UNKNOWN = "ok", "down", "not_running", "unknown"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


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
    result: dict[str, Any] = {"status": DOWN if down else OK, "latency_ms": _ms(started)}
    if down:
        result["aliases_down"] = down
    return result


def check_components() -> dict[str, dict[str, Any]]:
    """Ping the app's broker and result backend, each within :data:`PING_TIMEOUT`."""

    async def ping_all() -> dict[str, dict[str, Any]]:
        app = runtime.get_app()
        return {
            "broker": await _ping("broker", app.broker),
            "result_backend": await _ping("result backend", app.backend),
        }

    try:
        return runtime.run_sync(ping_all)
    except Exception:  # the app could not start: neither can be reached through it
        logger.warning("Health: the Flowrra app did not start", exc_info=True)
        return {name: {"status": DOWN} for name in ("broker", "result_backend")}


async def _ping(label: str, component: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok = component is not None and await asyncio.wait_for(component.ping(), PING_TIMEOUT)
    except Exception:
        logger.warning("Health: the %s does not answer", label, exc_info=True)
        ok = False
    return {"status": OK if ok else DOWN, "latency_ms": _ms(started)}


def check_beat(now: dt.datetime | None = None) -> dict[str, Any]:
    """When a beat last finished a pass; ``down`` when that is older than
    :data:`BEAT_STALE_AFTER` and a schedule is enabled, ``not_running`` when no schedule
    needs it."""
    now = now or utcnow()
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
    age = (now - last).total_seconds() if last is not None else None
    fresh = age is not None and age <= BEAT_STALE_AFTER
    status = OK if fresh else DOWN if needed else NOT_RUNNING
    return {"status": status, "last_pass_at": last, "age_seconds": age}


def health() -> dict[str, Any]:
    """Every check; ``status`` is ``down`` with ``down`` naming the failed parts."""
    components = {"database": check_databases(), **check_components(), "beat": check_beat()}
    down = [name for name, check in components.items() if check["status"] == DOWN]
    return {
        "status": DOWN if down else OK,
        "down": down,
        "components": components,
        "checked_at": utcnow(),
    }
