"""``python -m flowrra worker --app package.module:app``: a standalone worker process
(and ``inspect workers`` / ``control ...``: see :mod:`flowrra.control.cli`).

Options are checked by argparse ``type=`` validators, so bad input is a usage error (exit
status 2) that says what is expected, never a traceback. Signals are handled by
:func:`flowrra.worker_process.serve`: the first SIGTERM or SIGINT finishes running tasks (up to
``--shutdown-timeout``) and leaves the rest in the broker; a second one exits at once.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from . import __version__
from .app import Flowrra
from .control.cli import add_commands as add_control_commands
from .control.cli import run as run_control
from .exceptions import ConfigurationError
from .registry import validate_options
from .worker import Worker
from .worker_process import reach_services, serve

logger = logging.getLogger("flowrra.cli")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The help of a worker's ``-l/--loglevel`` option.
LOG_LEVEL_HELP = (
    "DEBUG, INFO (the default: a line per finished task and what is left at exit), "
    "WARNING (failures and problems only), ERROR or CRITICAL"
)


class LoadedApp(NamedTuple):
    spec: str
    app: Flowrra


def load_app(spec: str) -> LoadedApp:
    """The :class:`Flowrra` named by ``"package.module:attribute"`` (argparse type)."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise argparse.ArgumentTypeError(
            f"expected 'package.module:app' (the module and the name of its Flowrra app), "
            f"got {spec!r}"
        )
    if os.getcwd() not in sys.path:  # as with `python -m`, the current directory imports
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise argparse.ArgumentTypeError(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    app = getattr(module, attr, None)
    if not isinstance(app, Flowrra):
        found = "nothing" if app is None else f"a {type(app).__name__}"
        raise argparse.ArgumentTypeError(
            f"{module_name}.{attr} is {found}, not a Flowrra app; point --app at the "
            "module-level 'app = Flowrra(...)'"
        )
    return LoadedApp(spec, app)


def queue_list(raw: str) -> tuple[str, ...]:
    """Comma-separated queue names (argparse type)."""
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one queue name, e.g. default,emails")
    for name in names:
        try:
            validate_options(queue=name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return names


def _number(kind: Callable[[str], float], minimum: float, label: str) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {label}, got {raw!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {label}, got {raw!r}")
        return value

    parse.__name__ = label
    return parse


positive_int = _number(int, 1, "a whole number >= 1")
positive_seconds = _number(float, 0.001, "a number of seconds > 0")
seconds = _number(float, 0, "a number of seconds >= 0")


def log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowrra", description="Flowrra task queue command line.")
    parser.add_argument("--version", action="version", version=f"flowrra {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    worker = commands.add_parser(
        "worker",
        help="consume tasks from the app's broker",
        description="Consume tasks from the broker of a Flowrra app until stopped "
        "(SIGTERM/SIGINT: finish running tasks, then exit 0; twice: exit now).",
    )
    add = worker.add_argument
    add(
        "--app",
        "-A",
        required=True,
        type=load_app,
        metavar="MODULE:APP",
        help="the app, as package.module:attribute",
    )
    add(
        "--queues",
        "-Q",
        type=queue_list,
        metavar="NAMES",
        help="comma-separated queues to consume (default: 'default' and every queue a "
        "registered task names)",
    )
    add("--io-workers", type=positive_int, metavar="N", help="async tasks run at once")
    add("--cpu-workers", type=positive_int, metavar="N", help="processes for cpu_bound tasks")
    add(
        "--prefetch",
        type=positive_int,
        metavar="N",
        help="messages held beyond those running (default: 4 x concurrency, at least 64)",
    )
    add("--burst", action="store_true", help="exit once nothing is queued and nothing runs")
    add("--max-tasks", type=positive_int, metavar="N", help="exit after running N tasks")
    add(
        "--loglevel",
        "-l",
        type=log_level,
        default="INFO",
        metavar="LEVEL",
        help=LOG_LEVEL_HELP,
    )
    add(
        "--shutdown-timeout",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long running tasks may finish after SIGTERM (default 30)",
    )
    add(
        "--heartbeat-interval",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="seconds between heartbeats; a worker silent for 3 intervals is dead and its "
        "messages go to other workers (default 5)",
    )
    add(
        "--connect-timeout",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to keep trying to reach the broker and result store at start-up; "
        "then exit 1 with the reason (default 30)",
    )
    add_control_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m flowrra`` and the ``flowrra`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.loglevel,
        format="[%(asctime)s %(levelname)s %(process)d] %(name)s: %(message)s",
    )
    if args.command in ("inspect", "control"):
        return asyncio.run(run_control(args))
    try:
        return asyncio.run(_run_worker(args))
    except KeyboardInterrupt:
        return 130
    except Exception:  # e.g. Redis gone while giving messages back at shutdown
        logger.exception(
            "The worker stopped on an error; unacknowledged messages stay in the broker"
        )
        return 1


async def _run_worker(args: argparse.Namespace) -> int:
    app: Flowrra = args.app.app
    try:
        await app.start(worker=False)
        worker = Worker(
            app,
            queues=args.queues,
            io_workers=args.io_workers,
            cpu_workers=args.cpu_workers,
            prefetch=args.prefetch,
            burst=args.burst,
            max_tasks=args.max_tasks,
            heartbeat_interval=args.heartbeat_interval,
        )
    except ConfigurationError as exc:
        print(f"flowrra worker: error: {exc}", file=sys.stderr)
        return 2
    try:
        print(banner(args, worker), flush=True)
        problem = await reach_services(app, args.connect_timeout)
        if problem is not None:
            logger.error("%s", problem)
            return 1
        return await serve(worker, shutdown_timeout=args.shutdown_timeout)
    finally:
        await app.stop()


def banner(args: argparse.Namespace, worker: Worker) -> str:
    """What the worker serves, with passwords masked."""
    app = worker.app
    tasks = ", ".join(spec.name for spec in app.registry) or "none (register some with @app.task)"
    mode = " --burst" if worker.burst else ""
    if worker.max_tasks:
        mode += f" --max-tasks {worker.max_tasks}"
    lines = [
        f"flowrra {__version__} worker {worker.id}{mode}",
        f"  app:         {args.app.spec}",
        f"  broker:      {app.broker_required.describe()}",
        f"  results:     {app.backend_required.describe()}",
        f"  queues:      {', '.join(worker.queues) or 'every queue'}",
        f"  concurrency: {worker.io_workers} io + {worker.cpu_workers} cpu, "
        f"prefetch {worker.prefetch}",
        f"  tasks ({len(app.registry)}):   {tasks}",
    ]
    if not app.broker_required.durable:
        lines.append(
            "  note:        the in-memory broker only sees tasks submitted in this process; "
            "configure a redis:// broker to share work between processes"
        )
    return "\n".join(lines)
