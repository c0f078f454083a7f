"""``manage.py flowrra_worker``: run the project's tasks.

The first SIGTERM or Ctrl-C stops fetching and lets running tasks finish (up to
``SHUTDOWN_TIMEOUT``); a second one exits at once. ``--burst`` drains what is queued and
exits 0; ``--reload`` restarts the worker when Python files change, like ``runserver``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import threading
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import autoreload

from flowrra import BackendConfig, BrokerConfig, Config, Flowrra, Worker
from flowrra.backends import BACKENDS
from flowrra.brokers import BROKERS
from flowrra.cli import (
    LOG_LEVEL_HELP,
    log_level,
    positive_int,
    positive_seconds,
    queue_list,
    seconds,
)
from flowrra.exceptions import ConfigurationError
from flowrra.worker_process import reach_services, serve

from ... import runtime
from ...conf import flowrra_settings, get_config
from ...schedule_store import beat_banner, start_beat
from ..startup import configure_logging, start_app

C = TypeVar("C", BrokerConfig, BackendConfig)


def _url(registry: Any) -> Any:
    def parse(text: str) -> str:
        try:
            registry.scheme_of(text)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return parse


class Command(BaseCommand):
    help = "Run a Flowrra worker for this project's tasks."
    # checked in inner_run, so that --reload checks again after each change
    requires_system_checks: list[str] = []
    _stopped = threading.Event()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-Q",
            "--queues",
            type=queue_list,
            help="comma-separated queues to consume (default: FLOWRRA['QUEUES'], else "
            "'default' and every queue a registered task names)",
        )
        parser.add_argument("--io-workers", type=positive_int, help="async tasks at once")
        parser.add_argument("--cpu-workers", type=positive_int, help="CPU worker processes")
        parser.add_argument(
            "--prefetch", type=positive_int, help="messages held beyond those running"
        )
        parser.add_argument("--broker", type=_url(BROKERS), help="broker URL (overrides settings)")
        parser.add_argument(
            "--backend", type=_url(BACKENDS), help="result backend URL (overrides settings)"
        )
        parser.add_argument(
            "-l",
            "--loglevel",
            default="INFO",
            type=log_level,
            metavar="LEVEL",
            help=LOG_LEVEL_HELP,
        )
        parser.add_argument("--burst", action="store_true", help="run what is queued, then exit 0")
        parser.add_argument(
            "--max-tasks", type=positive_int, help="exit after running this many tasks"
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=positive_seconds,
            help="seconds running tasks get to finish after SIGTERM (default: settings)",
        )
        parser.add_argument(
            "--connect-timeout",
            type=seconds,
            default=30.0,
            help="seconds to keep trying to reach the broker and result store at start-up; "
            "then exit 1 with the reason (default 30)",
        )
        parser.add_argument(
            "--reload", action="store_true", help="restart when code changes (development)"
        )
        parser.add_argument(
            "--beat",
            action="store_true",
            help="also fire the scheduled tasks, as flowrra_beat does (small deployments)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reload"]:
            autoreload.run_with_reloader(self.inner_run, **options)
        else:
            self.inner_run(**options)

    def inner_run(self, **options: Any) -> None:
        autoreload.raise_last_exception()
        self.check(display_num_errors=False)
        configure_logging(options["loglevel"])
        runtime.shutdown()  # this process's loop is the worker's from here on
        try:
            app = runtime.get_app()
            runtime.configure(app, self._config(options))
        except (ImproperlyConfigured, ConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        code = asyncio.run(self._serve(app, options))
        if code:
            sys.exit(code)

    def _config(self, options: dict[str, Any]) -> Config:
        config = get_config()
        values = flowrra_settings()
        if options["broker"]:
            broker = _at(options["broker"], config.broker, BrokerConfig)
            config = dataclasses.replace(config, broker=broker)
        if options["backend"]:
            backend = _at(options["backend"], config.backend, BackendConfig)
            config = dataclasses.replace(config, backend=backend)
        if options["shutdown_timeout"] is None:
            options["shutdown_timeout"] = values["SHUTDOWN_TIMEOUT"]
        options["heartbeat_interval"] = values["HEARTBEAT_INTERVAL"]
        return config

    async def _serve(self, app: Flowrra, options: dict[str, Any]) -> int:
        await start_app(app)
        worker = Worker(
            app,
            queues=options["queues"],
            io_workers=options["io_workers"],
            cpu_workers=options["cpu_workers"],
            prefetch=options["prefetch"],
            burst=options["burst"],
            max_tasks=options["max_tasks"],
            heartbeat_interval=options["heartbeat_interval"],
        )
        app.worker = worker
        beat = None
        try:
            problem = await reach_services(app, options["connect_timeout"])
            if problem is not None:
                raise CommandError(problem)
            if options.get("beat"):
                beat = await start_beat(app)
            self.stdout.write(banner(app, worker) + (f"\n{beat_banner(beat)}" if beat else ""))
            self.stdout.flush()
            if options["reload"]:  # the reloader owns signals: this runs in a thread
                self._stop_before_reload(worker, options["shutdown_timeout"])
                await worker.run()
                return 0
            return await serve(worker, shutdown_timeout=options["shutdown_timeout"])
        finally:
            if beat is not None:
                await beat.stop()
            app.worker = None
            await app.stop()
            runtime.unbind()
            self._stopped.set()

    def _stop_before_reload(self, worker: Worker, timeout: float) -> None:
        """When code changes, stop the worker before the reloader ends this process, so
        the messages it holds go back to the queue at once."""
        loop = asyncio.get_running_loop()
        self._stopped = threading.Event()

        def before_reload(sender: Any, file_path: Any, **kwargs: Any) -> None:
            loop.call_soon_threadsafe(worker.request_stop)
            self._stopped.wait(timeout + 5)

        autoreload.file_changed.connect(before_reload, weak=False)


def _at(url: str, current: C | None, kind: type[C]) -> C:
    """``current`` (a broker or backend config) moved to ``url``; a new one if unset."""
    return kind(url=url) if current is None else dataclasses.replace(current, url=url)


def banner(app: Flowrra, worker: Worker) -> str:
    """The start banner: where messages and results live (passwords masked), what runs."""
    names = [spec.name for spec in app.registry]
    mode = "burst (exit when the queues are empty)" if worker.burst else "serve until stopped"
    if worker.max_tasks is not None:
        mode += f", at most {worker.max_tasks} tasks"
    lines = [
        f"Flowrra worker {worker.id}",
        f"  broker:      {app.broker_required.describe()}",
        f"  results:     {app.backend_required.describe()}",
        f"  queues:      {', '.join(worker.queues)}",
        f"  concurrency: {worker.io_workers} async, {worker.cpu_workers} CPU processes, "
        f"prefetch {worker.prefetch}",
        f"  tasks:       {len(names)}: {', '.join(names) or 'none (add tasks.py to an app)'}",
        f"  mode:        {mode}",
    ]
    return "\n".join(lines)
