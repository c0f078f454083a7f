"""Logging set-up shared by the ``flowrra_worker`` and ``flowrra_beat`` commands."""

from __future__ import annotations

import logging
import sys


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
