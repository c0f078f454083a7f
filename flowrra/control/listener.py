"""A worker's end of remote control: reads its mailbox and acts on each command."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..exceptions import UnsupportedFeatureError
from .client import ControlError, check_command
from .transport import MAILBOX_TTL, ControlTransport, transport_for

if TYPE_CHECKING:
    from ..worker import Worker

logger = logging.getLogger(__name__)

#: Longest wait on the mailbox per look (seconds): bounds how long stopping the listener takes.
RECEIVE_TIMEOUT = 1.0


class ControlListener:
    """Runs ``worker``'s commands as they arrive and replies to each."""

    def __init__(self, worker: Worker, transport: ControlTransport) -> None:
        self.worker = worker
        self.transport = transport

    @classmethod
    def start(cls, worker: Worker) -> asyncio.Task[None] | None:
        """Listen in the background; None when the worker's broker has no control."""
        try:
            transport = transport_for(worker.app.broker_required)
        except UnsupportedFeatureError:
            return None
        return asyncio.create_task(cls(worker, transport).run(), name="flowrra-control")

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                commands = await self.transport.receive(self.worker.id, RECEIVE_TIMEOUT)
                failures = 0
            except Exception as exc:  # the broker is away: its outage is logged elsewhere
                failures += 1
                logger.debug("Worker %s: control mailbox unreadable: %s", self.worker.id, exc)
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
                continue
            for command in commands:
                await self._handle(command)

    async def _handle(self, command: dict[str, Any]) -> None:
        reply_to = str(command.get("reply_to", ""))
        name = str(command.get("command", ""))
        if time.time() - float(command.get("sent_at") or 0) > MAILBOX_TTL:
            return  # its sender stopped waiting long ago
        try:
            args = check_command(name, command.get("args") or {})
            ok, message = True, await self.act(name, args)
        except (ControlError, ValueError) as exc:
            ok, message = False, str(exc)
        logger.info("Worker %s: %s %s -> %s", self.worker.id, name, command.get("args"), message)
        reply = {
            "id": command.get("id"),
            "worker": self.worker.id,
            "command": name,
            "ok": ok,
            "message": message,
            "at": time.time(),
        }
        if reply_to:
            try:
                await self.transport.reply(reply_to, reply)
            except Exception:
                logger.warning(
                    "Worker %s could not reply to %s", self.worker.id, name, exc_info=True
                )
        if ok and name == "shutdown":  # after the reply: stopping ends this listener
            self.worker.request_stop()

    async def act(self, name: str, args: dict[str, Any]) -> str:
        """Run one checked command; what was done. ``ValueError`` when it cannot be."""
        worker = self.worker
        if name == "ping":
            return "pong"
        if name == "shutdown":  # _handle stops the worker once the reply is sent
            return "stopping gracefully: running tasks finish, buffered ones go back"
        if name == "pause":
            worker.pause_queue(args["queue"])
            return f"stopped taking tasks from {args['queue']!r}"
        if name == "resume":
            worker.resume_queue(args["queue"])
            return f"takes tasks from {args['queue']!r} again"
        if name == "io_concurrency":
            before = worker.io_workers
            worker.set_io_concurrency(args["value"])
            return f"runs up to {args['value']} async tasks at once (was {before})"
        if not worker.terminate(args["task_id"]):
            raise ValueError(f"task {args['task_id']} is not running on this worker")
        return f"terminated task {args['task_id']}: it ends REVOKED"
