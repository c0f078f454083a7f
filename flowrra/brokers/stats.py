"""What a broker tells dashboards about its queues, its workers and its dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: How long a worker whose heartbeats stopped stays listed (offline) before it is dropped.
WORKER_RETENTION = 3600.0


@dataclass(frozen=True, slots=True)
class QueueLevel:
    """Messages of one queue at one priority: ``ready`` to be taken, ``delayed`` until an
    eta or a retry's back-off, ``held`` by workers. ``priority`` None: the broker does not
    say (``ready`` is then the whole queue's due messages, the others None)."""

    queue: str
    priority: int | None
    ready: int
    delayed: int | None = None
    held: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message set aside because no worker can run it: ``message`` is its raw text (only
    its start when ``truncated``: a huge message)."""

    id: str
    reason: str
    queue: str
    priority: int | None
    at: float | None
    message: str
    truncated: bool = False


def worker_entry(info: dict[str, Any], expires_at: float | None) -> dict[str, Any]:
    """A worker's heartbeat ``info`` with when its heartbeat expires (None: unknown)."""
    return {**info, "expires_at": expires_at}
