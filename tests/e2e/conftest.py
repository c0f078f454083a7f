"""End-to-end fixtures: the README's demo launcher as a real process tree, and a real browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # answered (a redirect to the login page is fine)
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {seconds:g} s")


class Demo:
    """The running demo: its URL, its launcher process and its log."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def stop(self) -> int:
        """SIGTERM to the launcher (it stops its children by PID); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def demo_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The demo's environment: a database of this test, no Redis unless ``extra`` says so."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",  # not pytest-django's
    }
    for name in ("FLOWRRA_BROKER_URL", "FLOWRRA_RESULT_BACKEND", "REDIS_URL", "CHANNEL_LAYER_URL"):
        env.pop(name, None)
    return {**env, **extra}


def manage_shell(env: dict[str, str], code: str) -> str:
    """Run ``code`` in ``manage.py shell`` with ``env`` (another process); its last line."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def running_demo(tmp_path: Path, env: dict[str, str]) -> Iterator[Demo]:
    """``python example_project/demo.py`` on a free port with ``env``, stopped at the end."""
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "example_project/demo.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Demo(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for_http(running.url + "/", process, seconds=90)
        yield running
    finally:
        running.stop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``python example_project/demo.py`` on a free port and a database of this test."""
    with running_demo(tmp_path, demo_environment(tmp_path)) as running:
        yield running


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium; a missing browser fails under CI=true and skips elsewhere."""
    for candidate in CHROMIUM_CANDIDATES:
        if shutil.which(candidate):
            return candidate
    unavailable("Chromium is not installed (apt-get install chromium); 'make test' installs it")
