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

from .worker import Worker

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
