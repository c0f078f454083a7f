"""The health report every dashboard serves at ``health``: each part ``ok`` or ``down``, with
nothing a stranger should learn (no URLs, no error texts, no task data: those go to the
log). The Django app adds its database and reads the beat from its tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any

from ..task import utcnow

if TYPE_CHECKING:
    from ..app import Flowrra
    from ..scheduler import Scheduler

logger = logging.getLogger("flowrra.health")

#: Seconds a broker or result backend has to answer a ping.
PING_TIMEOUT = 3.0
#: A beat whose last pass is older than this (seconds) is down, when schedules are enabled.
BEAT_STALE_AFTER = 60.0

OK, DOWN, NOT_RUNNING, UNKNOWN = "ok", "down", "not_running", "unknown"


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def ping(label: str, component: Any) -> dict[str, Any]:
    """``ok`` when ``component`` answers a ping within :data:`PING_TIMEOUT`."""
    started = time.perf_counter()
    try:
        ok = component is not None and await asyncio.wait_for(component.ping(), PING_TIMEOUT)
    except Exception:
        logger.warning("Health: the %s does not answer", label, exc_info=True)
        ok = False
    return {"status": OK if ok else DOWN, "latency_ms": elapsed_ms(started)}


async def ping_components(app: Flowrra) -> dict[str, dict[str, Any]]:
    return {
        "broker": await ping("broker", app.broker),
        "result_backend": await ping("result backend", app.backend),
    }


def beat_status(
    last: dt.datetime | None, needed: bool, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A beat is ``ok`` when its last pass is recent, ``down`` when it is not and a schedule
    is enabled (``needed``), ``not_running`` when no schedule needs it."""
    now = now or utcnow()
    age = (now - last).total_seconds() if last is not None else None
    fresh = age is not None and age <= BEAT_STALE_AFTER
    status = OK if fresh else DOWN if needed else NOT_RUNNING
    return {"status": status, "last_pass_at": last, "age_seconds": age}


async def check_scheduler(scheduler: Scheduler | None) -> dict[str, Any]:
    """The beat's state from a scheduler's store; ``not_running`` without a scheduler."""
    if scheduler is None:
        return {"status": NOT_RUNNING, "last_pass_at": None, "age_seconds": None}
    try:
        last = await scheduler.store.last_pass()
        needed = await scheduler.store.next_due_at() is not None
    except Exception:
        logger.warning("Health: cannot read the beat's last pass", exc_info=True)
        return {"status": UNKNOWN, "last_pass_at": None, "age_seconds": None}
    return beat_status(last, needed)


def report(components: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every check; ``status`` is ``down`` with ``down`` naming the failed parts."""
    down = [name for name, check in components.items() if check["status"] == DOWN]
    return {
        "status": DOWN if down else OK,
        "down": down,
        "components": components,
        "checked_at": utcnow(),
    }


async def health(app: Flowrra, scheduler: Scheduler | None) -> dict[str, Any]:
    """The report of an app outside Django: broker, result backend and beat."""
    return report({**await ping_components(app), "beat": await check_scheduler(scheduler)})
