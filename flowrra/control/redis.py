"""Control mailboxes as Redis lists next to the broker's keys: a worker blocks on its
list (BLPOP), a client blocks on its reply's list."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ..brokers.redis_shards import ClusterBroker
from .transport import MAILBOX_TTL, ControlTransport

if TYPE_CHECKING:
    from ..brokers.redis import RedisBroker


class RedisControl(ControlTransport):
    """``<prefix>:control:<worker id>`` holds commands, ``<prefix>:control:reply:<id>``
    the reply; both expire after :data:`MAILBOX_TTL` seconds."""

    broker: RedisBroker | ClusterBroker  # transport_for() gives redis brokers this transport

    @property
    def _mailboxes(self) -> RedisBroker:
        """The broker whose keys hold the mailboxes (a cluster broker's first shard)."""
        broker = self.broker
        return broker.shards[0] if isinstance(broker, ClusterBroker) else broker

    def _key(self, *parts: str) -> str:
        return ":".join((self._mailboxes.prefix, "control", *parts))

    @property
    def _run(self) -> Any:
        return self._mailboxes.redis.runner.execute

    async def _push(self, key: str, value: dict[str, Any]) -> None:
        await self._run("RPUSH", key, json.dumps(value))
        await self._run("EXPIRE", key, MAILBOX_TTL)

    async def _pop(self, key: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            popped = await self._run("BLPOP", key, self._mailboxes.block_timeout(left))
            if popped is not None:
                return json.loads(popped[1])
            if deadline - time.monotonic() <= 0:
                return None

    async def send(self, worker_id: str, command: dict[str, Any]) -> None:
        await self._push(self._key(worker_id), command)

    async def receive(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        first = await self._pop(self._key(worker_id), timeout)
        return [] if first is None else [first]

    async def reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        await self._push(self._key("reply", reply_to), reply)

    async def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        return await self._pop(self._key("reply", reply_to), timeout)
