"""A Django project made as a new user makes one: ``django-admin startproject``, then the
README's "With Django" steps (settings, a ``tasks.py``), with any Python that has Django
and Flowrra installed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.readme import block_starting

SETTINGS_BLOCK = "# settings.py"
TASKS_BLOCK = "# any installed app's tasks.py is discovered in the web process and the worker alike"
VIEW_BLOCK = (
    "# a view (sync or async: flowrra_django.asubmit); inside transaction.atomic() the task is"
)


class FreshProject:
    """``mysite`` with an app ``shop`` in ``root``, run by ``python`` (no PYTHONPATH of
    this repository unless ``env`` gives one)."""

    def __init__(self, root: Path, python: Path | str, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.python = str(python)
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "FLOWRRA_")) and name != "PYTHONPATH"
        }
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}

    def create(self) -> FreshProject:
        """startproject, startapp, then the README's settings and tasks.py, as written."""
        self.root.mkdir(parents=True, exist_ok=True)
        # from outside this repository, so that only the installed packages are imported
        self.run("-m", "django", "startproject", "mysite", str(self.root), cwd=self.root.parent)
        self.manage("startapp", "shop")
        settings = block_starting(SETTINGS_BLOCK).replace("[...,", "[*INSTALLED_APPS,", 1)
        with (self.root / "mysite" / "settings.py").open("a") as handle:
            handle.write(f"\n{settings}\nINSTALLED_APPS += ['shop']\n")
        (self.root / "shop" / "tasks.py").write_text(block_starting(TASKS_BLOCK))
        return self

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.python, *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.run("manage.py", *args, timeout=timeout)

    def shell(self, code: str) -> str:
        """Run ``code`` in ``manage.py shell``; its standard output."""
        return self.manage("shell", "-c", code).stdout

    def start(self, *args: str, log: Path) -> subprocess.Popen[str]:
        """``manage.py *args`` in the background, its output to the file ``log``."""
        with log.open("w") as out:
            return subprocess.Popen(
                [self.python, "manage.py", *args],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )


def stop_all(processes: Sequence[subprocess.Popen[str]]) -> None:
    """Kill whatever of ``processes`` still runs, by PID."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(30)
