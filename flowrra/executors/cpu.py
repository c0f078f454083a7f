"""CPUExecutor: sync tasks in a pool of worker processes that the parent supervises.

Each process runs one task at a time over its own pipe. A task past its time limit gets
its process killed and replaced, so the pool keeps serving; a process that dies (a crash,
``os._exit``) fails only the task it held. Functions travel by reference (module and
name), arguments and results by pickle on this host only: the wire format between hosts
stays JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ..config import Config
from ..exceptions import TaskTimeLimitExceeded
from ..registry import TaskRegistry
from ..task import Task
from .base import BaseTaskExecutor

logger = logging.getLogger(__name__)


class CPUTaskError(Exception):
    """A CPU task's exception, rebuilt in the parent from its type name, message and traceback
    (the exception object itself may not be picklable)."""

    def __init__(self, type_name: str, message: str, formatted: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.formatted_traceback = formatted


class CPUWorkerDied(Exception):
    """The process running a CPU task exited before answering."""


def _child_main(conn: Connection, initializer: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    parent = os.getppid()
    if initializer:
        module_name, _, attr = initializer.rpartition(".")
        getattr(importlib.import_module(module_name), attr)()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the worker is gone (killed): nothing left to do
            return
        if message is None or os.getppid() != parent:  # stopping, or the worker was killed
            return
        func, args, kwargs = message
        try:
            reply: tuple[Any, ...] = ("ok", func(*args, **kwargs))
        except BaseException as exc:
            name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
            reply = ("error", name, str(exc), traceback.format_exc())
        try:
            conn.send(reply)
        except OSError:  # BrokenPipeError, ConnectionResetError: the worker is gone
            return
        except Exception as exc:  # a result that does not pickle
            name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
            with contextlib.suppress(OSError):
                conn.send(("error", name, str(exc), traceback.format_exc()))


class _Slot:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: multiprocessing.context.SpawnContext, initializer: str | None):
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(
            target=_child_main, args=(child_conn, initializer), daemon=True, name="flowrra-cpu"
        )
        self.process.start()
        child_conn.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class CPUExecutor(BaseTaskExecutor):
    """Runs ``cpu_bound=True`` tasks in ``cpu_workers`` spawned processes, started on first use."""

    kind = "cpu"

    def __init__(self, config: Config | None, registry: TaskRegistry | None = None) -> None:
        if config is None:
            raise ValueError(
                "CPUExecutor needs a Config: CPUExecutor(config=Config(executor="
                "ExecutorConfig(cpu_workers=4))); a result backend is optional"
            )
        super().__init__(config, registry)
        self.size = config.executor.cpu_workers
        self.initializer = config.executor.cpu_initializer
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Slot] | None = None
        self._slots: set[_Slot] = set()
        self._starting = asyncio.Lock()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live pool processes."""
        return [slot.process.pid for slot in self._slots if slot.process.pid is not None]

    async def _ensure_started(self) -> asyncio.Queue[_Slot]:
        async with self._starting:
            if self._idle is None:
                idle: asyncio.Queue[_Slot] = asyncio.Queue()
                for _ in range(self.size):
                    slot = await asyncio.to_thread(_Slot, self._context, self.initializer)
                    self._slots.add(slot)
                    idle.put_nowait(slot)
                self._idle = idle
            return self._idle

    async def execute(self, task: Task) -> Any:
        func = self.registry.get(task.name).func
        idle = self._idle or await self._ensure_started()
        slot = await idle.get()
        try:
            reply = await self._call(slot, (func, task.args, task.kwargs), task)
        except BaseException:
            slot = await self._replace(slot)
            raise
        finally:
            idle.put_nowait(slot)
        if reply[0] == "ok":
            return reply[1]
        raise CPUTaskError(*reply[1:])

    async def _call(self, slot: _Slot, message: tuple[Any, ...], task: Task) -> Any:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = slot.conn.fileno()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, wake)
        try:
            slot.conn.send(message)
            try:
                async with asyncio.timeout(task.timeout):
                    await readable
            except TimeoutError:
                raise TaskTimeLimitExceeded(task.name, task.timeout or 0.0) from None
        finally:
            loop.remove_reader(fd)
        try:
            return slot.conn.recv()
        except (EOFError, OSError):
            code = await asyncio.to_thread(_exit_code, slot.process)
            raise CPUWorkerDied(
                f"the worker process running {task.name!r} exited (code {code})"
            ) from None

    async def _replace(self, slot: _Slot) -> _Slot:
        self._slots.discard(slot)
        await asyncio.to_thread(slot.kill)
        fresh = await asyncio.to_thread(_Slot, self._context, self.initializer)
        self._slots.add(fresh)
        return fresh

    async def close(self, timeout: float | None = None) -> None:
        slots, self._slots, self._idle = list(self._slots), set(), None
        for slot in slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        await asyncio.to_thread(_join_all, slots, timeout if timeout is not None else 5.0)


def _exit_code(process: BaseProcess) -> int | None:
    process.join(1)
    return process.exitcode


def _join_all(slots: list[_Slot], timeout: float) -> None:
    for slot in slots:
        slot.process.join(timeout)
        slot.kill()
