"""Start the example site: migrate, create the demo account, run web + worker + beat.

    python example_project/demo.py [--port 8000]      # or: make demo [DEMO_PORT=8000]

With nothing set, everything runs on SQLite with the database as broker (no Redis, no other
server); with ``REDIS_URL`` set, Redis is the broker and the live pages' channel layer (see
``example_project/settings.py``). The web process is daphne (``runserver`` with daphne in
INSTALLED_APPS), so the dashboard and the shop page are live.

Each child runs in a session (and process group) of its own, so that Ctrl-C, SIGTERM or the
terminal's hang-up reach this launcher only: it
stops each child gracefully (SIGTERM), then kills whatever is left in the child's group (a
CPU worker's pool, say), so that nothing outlives the demo. A second Ctrl-C kills at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERNAME = PASSWORD = "demo"


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def prepare() -> bool:
    """Migrate, create the demo superuser; True when ``flowrra_beat`` is available."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command, get_commands

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    if not users.filter(username=USERNAME).exists():
        users.create_superuser(USERNAME, "demo@example.com", PASSWORD)
    return "flowrra_beat" in get_commands()


def kill_group(child: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    """``signum`` to every process left in ``child``'s group (its PID is the group's id)."""
    with contextlib.suppress(ProcessLookupError):  # the group is empty
        os.killpg(child.pid, signum)


def stop(children: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM to each child, up to ``grace`` seconds for all to exit, then SIGKILL to what
    is left of their groups."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    sweep(children)


def sweep(children: list[subprocess.Popen[bytes]], seconds: float = 5.0) -> None:
    """SIGKILL to what is left in the children's groups (a CPU pool's process still
    exiting, say), and up to ``seconds`` for those groups to be empty."""
    deadline = time.monotonic() + seconds
    for child in children:
        kill_group(child)
    while any(group_left(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_left(child: subprocess.Popen[bytes]) -> bool:
    """Whether any process is still in ``child``'s group."""
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` is free for the web process to listen on."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, children: list[subprocess.Popen[bytes]], seconds: float) -> bool:
    """True once 127.0.0.1:``port`` accepts connections; False if a child exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and all(child.poll() is None for child in children):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    stopping: list[int] = []
    children: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, frame: object) -> None:
        stopping.append(signum)
        if len(stopping) > 1:
            for child in children:
                kill_group(child)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    if not port_free(options.port):
        print(
            f"Port {options.port} is taken: make demo DEMO_PORT=8080 picks another.",
            file=sys.stderr,
        )
        return 1
    os.environ["DEMO_ACCOUNT"] = f"{USERNAME}:{PASSWORD}"  # the first page shows it
    with_beat = prepare()
    commands = {
        # daphne's runserver: HTTP, static files and the live pages' websocket
        "web": manage("runserver", f"127.0.0.1:{options.port}", "--noreload"),
        "worker": manage("flowrra_worker"),
    }
    if with_beat:
        commands["beat"] = manage("flowrra_beat")
    for command in commands.values():
        if stopping:
            break
        # a session of its own: the terminal's Ctrl-C (or hang-up) reaches this launcher only
        children.append(subprocess.Popen(command, cwd=ROOT, start_new_session=True))
    from django.conf import settings

    if not stopping and wait_for_port(options.port, children, seconds=60):
        broker = "Redis" if settings.REDIS_URL else "the database (SQLite, no Redis)"
        print(
            f"\nFlowrra demo: open http://127.0.0.1:{options.port}/ and log in as user "
            f"{USERNAME!r}, password {PASSWORD!r}.\nRunning {', '.join(commands)}; tasks "
            f"travel through {broker}. Ctrl-C stops them all.\n",
            flush=True,
        )
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    exited = [
        name for name, child in zip(commands, children, strict=False) if child.poll() is not None
    ]
    stop(children)
    if exited and not stopping:
        print(f"Stopped: {', '.join(exited)} exited unexpectedly.", file=sys.stderr)
        return 1
    print("Flowrra demo stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
