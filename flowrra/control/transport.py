"""Mailboxes on the broker: a worker's commands, and each command's reply."""

from __future__ import annotations

import asyncio
import weakref
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..exceptions import UnsupportedFeatureError
from ..plugins import SchemeRegistry

if TYPE_CHECKING:
    from ..brokers.base import BaseBroker

#: Broker URL scheme -> its control transport.
CONTROLS = SchemeRegistry("control transport")
#: Seconds a command or a reply waits in a mailbox before it is dropped (a worker that is
#: gone never reads it).
MAILBOX_TTL = 60


class ControlTransport(ABC):
    """Sends commands to a worker's mailbox and replies back, over ``broker``'s store."""

    def __init__(self, broker: BaseBroker) -> None:
        self.broker = broker

    @abstractmethod
    async def send(self, worker_id: str, command: dict[str, Any]) -> None:
        """Put ``command`` in ``worker_id``'s mailbox."""

    @abstractmethod
    async def receive(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        """The commands waiting for ``worker_id``, waiting up to ``timeout`` seconds for one."""

    @abstractmethod
    async def reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        """Answer the command whose ``reply_to`` is given."""

    @abstractmethod
    async def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        """The reply to ``reply_to``, or None after ``timeout`` seconds."""


def transport_for(broker: BaseBroker) -> ControlTransport:
    """The control transport of ``broker``; ``UnsupportedFeatureError`` when its kind has none."""
    url = broker.config.url if broker.config is not None else "memory://"
    try:
        cls = CONTROLS.resolve(url)
    except ValueError:
        raise UnsupportedFeatureError(
            f"{type(broker).__name__} has no remote control; use redis:// or django://"
        ) from None
    return cls(broker)


class MemoryControl(ControlTransport):
    """Mailboxes in this process, for the in-memory broker (workers and clients share it)."""

    _boxes: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Queue[dict[str, Any]]]] = (
        weakref.WeakKeyDictionary()
    )

    def _box(self, name: str) -> asyncio.Queue[dict[str, Any]]:
        boxes = self._boxes.setdefault(self.broker, {})
        return boxes.setdefault(name, asyncio.Queue())

    async def send(self, worker_id: str, command: dict[str, Any]) -> None:
        self._box(f"worker:{worker_id}").put_nowait(command)

    async def receive(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        box = self._box(f"worker:{worker_id}")
        try:
            first = await asyncio.wait_for(box.get(), timeout)
        except TimeoutError:
            return []
        commands = [first]
        while not box.empty():
            commands.append(box.get_nowait())
        return commands

    async def reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        self._box(f"reply:{reply_to}").put_nowait(reply)

    async def wait_reply(self, reply_to: str, timeout: float) -> dict[str, Any] | None:
        box = self._box(f"reply:{reply_to}")
        try:
            return await asyncio.wait_for(box.get(), timeout)
        except TimeoutError:
            return None
        finally:
            self._boxes.get(self.broker, {}).pop(f"reply:{reply_to}", None)


CONTROLS.register("memory", "flowrra.control.transport:MemoryControl")
for _scheme in ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster", "rediss+cluster"):
    CONTROLS.register(_scheme, "flowrra.control.redis:RedisControl", extra="redis")
