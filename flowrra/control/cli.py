"""``python -m flowrra inspect workers`` and ``python -m flowrra control COMMAND``: the
workers an app's broker has seen, and remote control from a shell (like ``celery
inspect`` and ``celery control``)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from ..brokers.stats import WORKER_RETENTION
from ..exceptions import FlowrraError
from ..task import utcnow
from .client import send_command

if TYPE_CHECKING:
    from ..app import Flowrra

#: Subcommand -> (command, its argument and the argument's type, help).
ACTIONS: dict[str, tuple[str, tuple[str, Any] | None, str]] = {
    "ping": ("ping", None, "ask workers to answer"),
    "shutdown": ("shutdown", None, "stop gracefully: running tasks finish, buffered go back"),
    "pause": ("pause", ("queue", str), "stop taking tasks from a queue"),
    "resume": ("resume", ("queue", str), "take tasks from a paused queue again"),
    "io-concurrency": ("io_concurrency", ("value", int), "async tasks run at once"),
    "terminate": ("terminate", ("task_id", str), "stop a running task now (it ends REVOKED)"),
}


def add_commands(commands: Any) -> None:
    """Add ``inspect`` and ``control`` to the ``flowrra`` parser's subcommands."""
    from ..cli import load_app, positive_int, positive_seconds

    inspect = commands.add_parser("inspect", help="list the workers the broker has seen")
    inspect.add_argument("what", choices=["workers"], help="what to list")
    inspect.add_argument("--app", "-A", required=True, type=load_app, metavar="MODULE:APP")
    inspect.add_argument("--json", action="store_true", help="print JSON lines")
    inspect.set_defaults(loglevel="WARNING")
    control = commands.add_parser(
        "control", help="send a command to workers through the broker and print their replies"
    )
    control.add_argument("--app", "-A", required=True, type=load_app, metavar="MODULE:APP")
    control.add_argument(
        "--timeout",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for each reply (default 5)",
    )
    control.set_defaults(loglevel="WARNING")
    actions = control.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, (_, argument, text) in ACTIONS.items():
        action = actions.add_parser(name, help=text, description=text)
        if argument is not None:
            action.add_argument(argument[0], type=positive_int if argument[1] is int else str)
        target = action.add_mutually_exclusive_group(required=True)
        target.add_argument(
            "--worker", "-w", action="append", dest="workers", metavar="ID", help="repeatable"
        )
        target.add_argument("--all", action="store_true", help="every online worker")


async def _online(app: Flowrra) -> list[Any]:
    from ..ui.workers import worker_views

    seen = await app.broker_required.workers_seen(WORKER_RETENTION)
    return [worker for worker in worker_views(seen, utcnow()) if worker.online]


async def run(args: argparse.Namespace) -> int:
    """Run ``inspect`` or ``control``; the exit status (1 when a worker refused or was
    silent, or none was found)."""
    app: Flowrra = args.app.app
    await app.start(worker=False)
    try:
        if args.command == "inspect":
            return await _inspect(app, args.json)
        return await _control(app, args)
    except FlowrraError as exc:
        print(f"flowrra {args.command}: error: {exc}")
        return 1
    finally:
        await app.stop()


async def _inspect(app: Flowrra, as_json: bool) -> int:
    workers = await _online(app)
    for worker in workers:
        if as_json:
            print(
                json.dumps(
                    {
                        "id": worker.id,
                        "queues": worker.queues,
                        "paused": worker.paused,
                        "concurrency": worker.concurrency,
                        "active": worker.active,
                        "processed": worker.processed,
                        "hostname": worker.hostname,
                        "pid": worker.pid,
                    }
                )
            )
        else:
            queues = ", ".join(f"{q} (paused)" if q in worker.paused else q for q in worker.queues)
            concurrency = " + ".join(f"{n} {kind}" for kind, n in worker.concurrency.items())
            print(
                f"{worker.id}  queues: {queues}  concurrency: {concurrency}  "
                f"active: {len(worker.active)}  processed: {worker.processed}"
            )
    if not workers and not as_json:
        print("No worker online.")
    return 0


async def _control(app: Flowrra, args: argparse.Namespace) -> int:
    command, argument, _ = ACTIONS[args.action]
    values = {argument[0]: getattr(args, argument[0])} if argument is not None else {}
    targets = args.workers or [worker.id for worker in await _online(app)]
    if not targets:
        print("No worker online.")
        return 1
    broker = app.broker_required
    replies = await asyncio.gather(
        *(send_command(broker, target, command, values, timeout=args.timeout) for target in targets)
    )
    status = 0
    for target, reply in zip(targets, replies, strict=True):
        if reply is None:
            print(f"{target}: no reply within {args.timeout:g} s")
            status = 1
        else:
            print(f"{target}: {'ok' if reply['ok'] else 'refused'}: {reply['message']}")
            status = status if reply["ok"] or args.action == "terminate" else 1
    if args.action == "terminate" and not any(reply and reply["ok"] for reply in replies):
        status = 1
    return status
