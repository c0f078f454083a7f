"""Control mailboxes as Redis lists next to the broker's keys: a worker blocks on its
list (BLPOP), a client blocks on its reply's list."""

from __future__ import annotations

import json
from typing import Any

from .transport import MAILBOX_TTL, ControlTransport


class RedisControl(ControlTransport):
    """``<prefix>:control:<worker id>`` holds commands, ``<prefix>:control:reply:<id>``
    the reply; both expire after :data:`MAILBOX_TTL` seconds."""

    def _key(self, *parts: str) -> str:
        return ":".join((self.broker.prefix, "control", *parts))  # type: ignore[attr-defined]

    @property
    def _run(self) -> Any:
        return self.broker.redis.runner.execute  # type: ignore[attr-defined]

    async def _push(self, key: str, value: dict[str, Any]) -> None:
        await self._run("RPUSH", key, json.dumps(value))
        await self._run("EXPIRE", key, MAILBOX_TTL)

    async def _pop(self, key: str, timeout: float) -> dict[str, Any] | None:
        popped = await self._run("BLPOP", key, max(timeout, 0.01))
        return None if popped is None else json.loads(popped[1])

    async def send(self, worker_id: str, command: dict[str, Any]) -> None:
        await self._push(self._key(worker_id), command)

    async def receive(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        first = await self._pop(self._key(worker_id), timeout)
        return [] if first is None else [first]

    async def reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        await self._push(self._key("reply", reply_to), reply)

    async def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        return await self._pop(self._key("reply", reply_to), timeout)
