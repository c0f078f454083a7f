"""Sending a command to a worker and waiting for its acknowledgement."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import FlowrraError
from .transport import transport_for

if TYPE_CHECKING:
    from ..brokers.base import BaseBroker

#: Command -> the arguments it takes (name -> type).
COMMANDS: dict[str, dict[str, type]] = {
    "ping": {},
    "shutdown": {},
    "pause": {"queue": str},
    "resume": {"queue": str},
    "io_concurrency": {"value": int},
    "terminate": {"task_id": str},
}
#: Seconds a client waits for a worker's reply unless told otherwise.
REPLY_TIMEOUT = 5.0


class ControlError(FlowrraError, ValueError):
    """A command that cannot be sent: unknown, or with wrong arguments."""


def check_command(command: str, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``command``, checked; ``ControlError`` naming what is wrong."""
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    expected = COMMANDS[command]
    unknown = set(args) - set(expected)
    if unknown:
        raise ControlError(f"{command} takes no argument(s) {', '.join(sorted(unknown))}")
    checked = {}
    for name, kind in expected.items():
        value = args.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("", None):
            raise ControlError(f"{command} needs {name} ({kind.__name__})")
        checked[name] = value
    return checked


def command_args(command: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of ``command`` read from ``data`` (a form's strings or JSON values),
    checked; ``ControlError`` naming what is wrong."""
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    args = {}
    for name, kind in COMMANDS[command].items():
        value = data.get(name)
        if kind is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        elif kind is str and isinstance(value, str):
            value = value.strip()
        args[name] = value
    return check_command(command, args)


async def send_command(
    broker: BaseBroker,
    worker_id: str,
    command: str,
    args: dict[str, Any] | None = None,
    *,
    timeout: float = REPLY_TIMEOUT,
) -> dict[str, Any] | None:
    """Send ``command`` to ``worker_id`` through ``broker`` and return its reply
    (``{"ok", "message", "worker", "command", ...}``), or None when no reply came within
    ``timeout`` seconds (the worker is gone or busy)."""
    checked = check_command(command, args or {})
    transport = transport_for(broker)
    reply_to = uuid.uuid4().hex
    message = {
        "id": reply_to,
        "command": command,
        "args": checked,
        "reply_to": reply_to,
        "sent_at": time.time(),
    }
    await transport.send(worker_id, message)
    return await transport.wait_reply(reply_to, timeout)
