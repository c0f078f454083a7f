"""The lease a worker holds on the messages it fetched: heartbeats renew it, a renewal that
fails for nearly a lease makes the worker doubt it, and a late renewal is followed by a
check of which messages are still its own.

While the lease is in doubt the worker starts no task and takes no work, and stores no
result of a message that another worker may hold by now (its writer checks ownership first).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Flowrra
    from .brokers.base import Delivery
    from .outage import Outage
    from .writer import ResultWriter

logger = logging.getLogger("flowrra.worker")


class LeaseKeeper:
    """The lease half of :class:`~flowrra.worker.Worker`, which provides what is declared here."""

    app: Flowrra
    id: str
    heartbeat_interval: float
    writer: ResultWriter
    broker_outage: Outage
    _io_buffer: deque[Delivery]
    _cpu_buffer: deque[Delivery]
    _in_hand: dict[int, Delivery]
    _room: asyncio.Event
    #: Set while the broker lease is known good; cleared when it may have run out.
    _lease_ok: asyncio.Event
    _renewed_at: float | None
    info: Callable[[], dict[str, Any]]

    async def _heartbeat_loop(self) -> None:
        broker = self.app.broker_required
        lease = self._lease
        while True:
            info = self.info()
            try:
                async with asyncio.timeout(self.heartbeat_interval):
                    lapsed = await broker.heartbeat(info, ttl=lease)
            except Exception as exc:
                self.broker_outage.failed(exc)
                self._doubt_lease()
                await asyncio.sleep(min(self.heartbeat_interval, 0.5))  # renew as soon as can be
                continue
            self.broker_outage.succeeded()
            now = time.monotonic()
            if lapsed or (self._renewed_at is not None and now - self._renewed_at > lease):
                self._lease_ok.clear()  # before anything else runs: nothing starts meanwhile
                self.writer.check_ownership = True
            self._renewed_at = now
            if not self._lease_ok.is_set():
                try:
                    await self._recover_lease()
                except Exception:
                    logger.warning("Worker %s: could not check its messages", self.id)
                    self._doubt_lease(now=math.inf)
            await self.app.events.emit({"type": "worker.heartbeat", "worker": info})
            await asyncio.sleep(self.heartbeat_interval)

    @property
    def _lease(self) -> float:
        return 3 * self.heartbeat_interval

    @property
    def _doubt_after(self) -> float:
        """Seconds without a renewal after which the lease is in doubt."""
        return self._lease - self.heartbeat_interval

    def _doubt_lease(self, now: float | None = None) -> None:
        """No renewal for nearly a lease (the broker down, or this process frozen): stop
        starting tasks and taking work, and check ownership before storing."""
        if self._renewed_at is None or not self._lease_ok.is_set():
            return
        now = time.monotonic() if now is None else now
        if now - self._renewed_at > self._doubt_after:
            self._lease_ok.clear()
            self.writer.check_ownership = True
            logger.warning(
                "Worker %s could not renew its lease for %.1f s: it takes no new work, and "
                "stores no result of a message that another worker may now hold, until it can",
                self.id,
                time.monotonic() - self._renewed_at,
            )

    async def _recover_lease(self) -> None:
        """After a renewal that may have come too late: drop the buffered messages that were
        given to other workers, and mark running ones whose results are no longer ours."""
        buffered = [*self._io_buffer, *self._cpu_buffer]
        running = [*self._in_hand.values(), *self.writer.unwritten()]
        held = {id(d) for d in await self.app.broker_required.still_held(buffered + running)}
        lost = [d for d in buffered if id(d) not in held]
        for buffer in (self._io_buffer, self._cpu_buffer):
            kept = [d for d in buffer if id(d) in held]
            buffer.clear()
            buffer.extend(kept)
        gone = [d for d in running if id(d) not in held]
        for delivery in gone:
            self.writer.disown(delivery)
        if lost or gone:
            logger.warning(
                "Worker %s: its lease ran out and other workers took over %d buffered "
                "message(s), dropped here, and %d running task(s), whose results here will "
                "not be stored",
                self.id,
                len(lost),
                len(gone),
            )
        self.writer.check_ownership = False
        self._lease_ok.set()
        self._room.set()
