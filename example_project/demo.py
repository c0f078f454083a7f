"""Start the example site: migrate, create a demo superuser, run web + worker (+ beat).

    python example_project/demo.py [--port 8000]

Everything runs on SQLite with the database as broker (no Redis, no other server); the web
process is daphne (``runserver`` with daphne in INSTALLED_APPS), so the dashboard is live:
its pages read changes from the database, or from Redis when ``CHANNEL_LAYER_URL`` or
``REDIS_URL`` is set. Ctrl-C
(or SIGTERM) stops the children gracefully, by their PIDs; a second Ctrl-C kills them.
"""

from __future__ import annotations

import argparse
import os
import signal
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


def stop(children: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
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
                if child.poll() is None:
                    child.kill()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with_beat = prepare()
    commands = {
        # daphne's runserver: HTTP, static files and the dashboard's websocket
        "web": manage("runserver", f"127.0.0.1:{options.port}", "--noreload"),
        "worker": manage("flowrra_worker"),
    }
    if with_beat:
        commands["beat"] = manage("flowrra_beat")
    for command in commands.values():
        if stopping:
            break
        # own sessions: Ctrl-C reaches this launcher only, which stops each child by PID
        children.append(subprocess.Popen(command, cwd=ROOT, start_new_session=True))
    print(
        f"\nFlowrra demo: http://127.0.0.1:{options.port}/  "
        f"(admin: http://127.0.0.1:{options.port}/admin/, user {USERNAME!r}, "
        f"password {PASSWORD!r})\nRunning {', '.join(commands)}; Ctrl-C stops them.\n",
        flush=True,
    )
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    failed = [
        name
        for name, child in zip(commands, children, strict=False)
        if child.poll() not in (None, 0)
    ]
    stop(children)
    if failed and not stopping:
        print(f"Stopped: {', '.join(failed)} exited unexpectedly.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
