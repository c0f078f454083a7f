"""Workers as the dashboard shows them, from their heartbeat documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .formatter import as_datetime, mask_urls


def _count(info: dict[str, Any], key: str) -> int:
    value = info.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(slots=True)
class WorkerView:
    """One worker: identity, queues, concurrency, counters, active tasks, and whether its
    heartbeat is current (``online``) or stopped (``offline`` until the retention ends)."""

    id: str
    hostname: str
    pid: int | None
    queues: list[str]
    concurrency: dict[str, int]
    prefetch: int | None
    processed: int
    succeeded: int
    failed: int
    retried: int
    active: list[str]
    started_at: dt.datetime | None
    last_seen: dt.datetime | None
    expires_at: dt.datetime | None
    online: bool
    broker: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Queues paused by remote control.
    paused: list[str] = field(default_factory=list)

    @property
    def uptime(self) -> float | None:
        if self.started_at is None or self.last_seen is None:
            return None
        return (self.last_seen - self.started_at).total_seconds()


def worker_view(info: dict[str, Any], now: dt.datetime) -> WorkerView:
    """The view of one heartbeat document (fields a worker did not send are left empty)."""
    expires = as_datetime(info.get("expires_at"))
    concurrency = info.get("concurrency")
    queues = info.get("queues")
    active = info.get("active")
    pid = info.get("pid")
    return WorkerView(
        id=str(info.get("id", "?")),
        hostname=str(info.get("hostname", "")),
        pid=pid if isinstance(pid, int) else None,
        queues=[str(q) for q in queues] if isinstance(queues, list) else [],
        concurrency={str(k): v for k, v in (concurrency or {}).items() if isinstance(v, int)}
        if isinstance(concurrency, dict)
        else {},
        prefetch=info.get("prefetch") if isinstance(info.get("prefetch"), int) else None,
        processed=_count(info, "processed"),
        succeeded=_count(info, "succeeded"),
        failed=_count(info, "failed"),
        retried=_count(info, "retried"),
        active=[str(task_id) for task_id in active] if isinstance(active, list) else [],
        started_at=as_datetime(info.get("started_at")),
        last_seen=as_datetime(info.get("last_heartbeat")),
        expires_at=expires,
        online=expires is None or expires > now,
        broker=mask_urls(str(info.get("broker", ""))),
        paused=[str(q) for q in paused] if isinstance(paused := info.get("paused"), list) else [],
    )


def worker_views(infos: Iterable[dict[str, Any]], now: dt.datetime) -> list[WorkerView]:
    """Views of ``infos``, online workers first, then by host and id."""
    views = [worker_view(info, now) for info in infos]
    return sorted(views, key=lambda w: (not w.online, w.hostname, w.id))
