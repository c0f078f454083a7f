"""What the ``flowrra_worker`` and ``flowrra_beat`` commands both do as they start."""

from __future__ import annotations

import asyncio
import logging
import sys

from django.core.management.base import CommandError

from flowrra import Flowrra

from .. import runtime


def configure_logging(level: str) -> None:
    """Log Flowrra's messages at ``level`` to stderr, unless the project configured logging."""
    for name in ("flowrra", "flowrra_django"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not logger.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(
                logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s")
            )
            logger.addHandler(handler)


async def start_app(app: Flowrra) -> None:
    """Connect ``app`` (without its in-process worker) on the running loop, which becomes
    the loop of this process's app (tasks that submit tasks use it)."""
    try:
        await app.start(worker=False)
    except Exception as exc:
        raise CommandError(f"could not connect: {exc}") from exc
    runtime.bind(asyncio.get_running_loop())
