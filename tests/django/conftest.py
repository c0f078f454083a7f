"""Fixtures for the Django tests: the database choice, worker subprocesses, clean-up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from flowrra_django import runtime
from tests.services import skip_unavailable

ROOT = Path(__file__).resolve().parents[2]


def _postgres_missing() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return None
    import psycopg

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname=db["NAME"],
            password=db.get("PASSWORD") or None,
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {db['HOST']}:{db['PORT']} is not reachable ({exc})"
    return None


def _mysql_missing() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
        return None
    import MySQLdb

    db = settings.DATABASES["default"]
    try:
        MySQLdb.connect(
            host=db["HOST"],
            port=int(db["PORT"] or 3306),
            user=db["USER"],
            password=db.get("PASSWORD") or "",
            connect_timeout=3,
        ).close()
    except MySQLdb.OperationalError as exc:
        return f"MariaDB/MySQL at {db['HOST']}:{db['PORT']} is not reachable ({exc})"
    return None


def database_missing() -> str | None:
    """Why the test database that ``FLOWRRA_TEST_DB`` chooses cannot be reached, or None."""
    return _postgres_missing() or _mysql_missing()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if "tests/django" in str(item.path)]
    skip_unavailable(mine, database_missing(), "set FLOWRRA_TEST_DB=sqlite or start it")


@pytest.fixture(autouse=True)
def _stop_producer() -> Iterator[None]:
    """Each test that submits from the test process starts the producer thread; stop it so
    its database connection never outlives the test's data."""
    yield
    runtime.shutdown()


@pytest.fixture(autouse=True)
async def _close_async_orm_connections() -> AsyncIterator[None]:
    """A test's async ORM calls run in asgiref's thread; close that thread's connections
    after the test, as Django does after a request, so none outlives the test database."""
    yield
    await sync_to_async(connections.close_all)()


class WorkerProcess:
    """``python -m django flowrra_worker ...`` (or another ``command``) in its own process
    group, on the test DB; its output goes to files in ``logs`` so that a test can read it
    while it runs. ``via`` wraps the command line (to run it on a test host, say)."""

    def __init__(
        self,
        *args: str,
        logs: Path,
        env: dict[str, str] | None = None,
        command: str = "flowrra_worker",
        via: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        #: The process's environment, for another command on the same settings.
        self.environment = environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django.settings",
            "FLOWRRA_TEST_SUBPROCESS": "1",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.stdout_path = logs / "stdout"
        self.stderr_path = logs / "stderr"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            argv = [sys.executable, "-m", "django", command, "--loglevel", "INFO", *args]
            self.process = subprocess.Popen(
                via(argv) if via is not None else argv,
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout)

    def output(self) -> tuple[str, str]:
        """Stdout and stderr so far."""
        return self.stdout_path.read_text(), self.stderr_path.read_text()

    def kill(self) -> None:
        """Kill the process group (a reloading worker is two processes)."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture
def worker_process() -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker subprocesses; any still running at the end is killed by its PID."""
    started: list[WorkerProcess] = []

    def start(
        *args: str,
        env: dict[str, str] | None = None,
        command: str = "flowrra_worker",
        via: Callable[[list[str]], list[str]] | None = None,
    ) -> WorkerProcess:
        logs = Path(tempfile.mkdtemp(prefix="flowrra-worker-"))
        worker = WorkerProcess(*args, logs=logs, env=env, command=command, via=via)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        shutil.rmtree(worker.stdout_path.parent, ignore_errors=True)
