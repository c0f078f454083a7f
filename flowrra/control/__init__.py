"""Worker remote control through the broker, so it reaches workers on any host.

A client (the dashboard, the API, ``python -m flowrra control``) sends a command to one
worker's mailbox on the broker and waits for the worker's reply; each worker listens to
its mailbox while it runs (:class:`~flowrra.control.listener.ControlListener`). Commands:
``ping``, ``shutdown`` (graceful), ``pause`` and ``resume`` a queue, ``io_concurrency``
(change the number of async tasks run at once) and ``terminate`` a running task (an async
task is cancelled, a CPU task's process is killed and replaced; the task ends REVOKED).

Each broker kind has a :class:`~flowrra.control.transport.ControlTransport`, found by its
URL scheme in :data:`CONTROLS`; ``flowrra_django`` registers the ``django://`` one.
"""

from .client import COMMANDS, ControlError, command_args, send_command
from .transport import CONTROLS, ControlTransport, transport_for

__all__ = [
    "COMMANDS",
    "CONTROLS",
    "ControlError",
    "ControlTransport",
    "command_args",
    "send_command",
    "transport_for",
]
