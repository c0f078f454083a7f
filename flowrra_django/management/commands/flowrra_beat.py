"""``manage.py flowrra_beat``: submit the project's scheduled tasks on time.

Schedules are the ``ScheduledTask`` rows managed in the admin; edits take effect without a
restart. Several beats may run at once (for availability): each occurrence is fired by
exactly one of them. The first SIGTERM or Ctrl-C lets a pass in progress finish and exits
0; a second one exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowrra import Flowrra
from flowrra.cli import log_level, positive_seconds, seconds
from flowrra.exceptions import ConfigurationError
from flowrra.scheduler.models import DEFAULT_MISFIRE_GRACE
from flowrra.worker_process import HANDLED_SIGNALS

from ... import runtime
from ...conf import get_config
from ...schedule_store import beat_banner, start_beat
from ..startup import configure_logging, start_app

logger = logging.getLogger("flowrra_django.beat")


class Command(BaseCommand):
    help = "Submit this project's scheduled tasks (the ScheduledTask rows) when they are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=1.0,
            help="longest pause between two looks at the schedules, in seconds: bounds how "
            "late an admin edit is seen (default 1; due schedules fire on time regardless)",
        )
        parser.add_argument(
            "--misfire-grace",
            type=seconds,
            default=DEFAULT_MISFIRE_GRACE,
            help="a run found this many seconds late (the beat was down) follows the "
            "schedule's missed policy: run once, or skip (default 60)",
        )
        parser.add_argument("-l", "--loglevel", default="INFO", type=log_level)

    def handle(self, *args: Any, **options: Any) -> None:
        configure_logging(options["loglevel"])
        runtime.shutdown()  # this process's loop is the beat's from here on
        try:
            app = runtime.get_app()
            app.config = get_config()
        except (ImproperlyConfigured, ConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        asyncio.run(self._serve(app, options))

    async def _serve(self, app: Flowrra, options: dict[str, Any]) -> None:
        await start_app(app)
        beat = None
        try:
            beat = await start_beat(
                app, interval=options["interval"], misfire_grace=options["misfire_grace"]
            )
            self.stdout.write(
                f"Flowrra beat {socket.gethostname()}:{os.getpid()}\n{beat_banner(beat)}\n"
                f"  submits to:  {app.broker_required.describe()}"
            )
            self.stdout.flush()
            await _until_signalled()
        finally:
            if beat is not None:
                await beat.stop()
            await app.stop()
            runtime.unbind()


async def _until_signalled() -> None:
    """Return on the first SIGTERM or SIGINT; exit the process on the second."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            logger.error("Received %s again: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        logger.warning(
            "Received %s: stopping after the current pass; send it again to exit now",
            signal.Signals(signum).name,
        )
        stop.set()

    for signum in HANDLED_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await stop.wait()
    finally:
        for signum in HANDLED_SIGNALS:
            loop.remove_signal_handler(signum)
