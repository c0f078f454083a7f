"""Running a worker as the main thing of a process: signals and the exit code.

The first SIGTERM or SIGINT stops fetching and lets running tasks finish (up to the
worker's shutdown timeout, leaving everything else to the broker); a second one exits at
once. Both ``python -m flowrra worker`` and ``manage.py flowrra_worker`` use :func:`serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import TYPE_CHECKING

from .worker import Worker

if TYPE_CHECKING:
    from .app import Flowrra

logger = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve(worker: Worker, *, shutdown_timeout: float = 30.0) -> int:
    """Run ``worker`` (its app already started) until it finishes or a signal stops it.

    Returns the process exit code: 0 after a graceful stop.
    """
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            logger.warning(
                "Received %s: finishing running tasks (up to %g s); send it again to exit now",
                signal.Signals(signum).name,
                shutdown_timeout,
            )
            worker.request_stop()
        else:
            logger.error("Received %s again: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)

    for signum in HANDLED_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await worker.start()
        await worker.wait_finished()
        await worker.stop(timeout=shutdown_timeout)
    finally:
        for signum in HANDLED_SIGNALS:
            loop.remove_signal_handler(signum)
    return 0


async def reach_services(app: Flowrra, timeout: float) -> str | None:
    """Ping the app's broker and result store until both answer or ``timeout`` seconds
    pass; None when they do, else one line saying which cannot be reached and why."""
    deadline = time.monotonic() + timeout
    for name, component in (
        ("broker", app.broker_required),
        ("result store", app.backend_required),
    ):
        delay = 0.25
        cause: BaseException | None = None
        while True:
            left = deadline - time.monotonic()
            try:
                async with asyncio.timeout(max(left, 0.5)):
                    await component.ping()
                break
            except Exception as exc:
                if cause is None or not isinstance(exc, TimeoutError):
                    cause = exc  # a ping cut short by the deadline says less than the last
                left = deadline - time.monotonic()
                if left <= 0:
                    detail = str(cause).rstrip(". ")
                    reason = type(cause).__name__ + (f": {detail}" if detail else "")
                    return (
                        f"Cannot reach the {name} at {component.describe()} within {timeout:g} s "
                        f"({reason}). Is the server running and the URL right?"
                    )
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 2.0)
    return None
