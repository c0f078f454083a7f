"""Remote-control mailboxes for the ``django://`` broker: ``ControlMessage`` rows in its
database, polled (a worker looks every :data:`POLL` seconds, a client waiting for a reply
more often)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from flowrra.control.transport import MAILBOX_TTL, ControlTransport
from flowrra.task import utcnow

from .database_thread import database_thread
from .models import ControlMessage

if TYPE_CHECKING:
    from .brokers import DatabaseBroker

#: Seconds between a worker's looks at its mailbox.
POLL = 0.2
#: Seconds between a client's looks for its reply.
REPLY_POLL = 0.02


class DatabaseControl(ControlTransport):
    """Mailboxes in the broker's database (its ``alias``)."""

    broker: DatabaseBroker  # transport_for() gives django:// brokers this transport

    def _rows(self) -> Any:
        return ControlMessage.objects.using(self.broker.alias)

    async def _put(self, mailbox: str, payload: dict[str, Any]) -> None:
        def put() -> None:
            now = utcnow()
            self._rows().filter(created_at__lt=now - dt.timedelta(seconds=MAILBOX_TTL)).delete()
            self._rows().create(mailbox=mailbox[:250], payload=payload, created_at=now)

        await database_thread.run(put)

    async def _take(self, mailbox: str, limit: int) -> list[dict[str, Any]]:
        def take() -> list[dict[str, Any]]:
            rows = list(self._rows().filter(mailbox=mailbox).order_by("id")[:limit])
            if not rows:
                return []
            self._rows().filter(id__in=[row.id for row in rows]).delete()
            return [row.payload for row in rows]

        return await database_thread.run(take)

    async def _poll(self, mailbox: str, timeout: float, every: float, limit: int) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            taken = await self._take(mailbox, limit)
            if taken or time.monotonic() >= deadline:
                return taken
            await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))

    async def send(self, worker_id: str, command: dict[str, Any]) -> None:
        await self._put(worker_id, command)

    async def receive(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        return await self._poll(worker_id, timeout, POLL, 20)

    async def reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        await self._put(f"reply:{reply_to}", reply)

    async def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        taken = await self._poll(f"reply:{reply_to}", timeout, REPLY_POLL, 1)
        return taken[0] if taken else None
