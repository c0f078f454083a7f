"""Fixtures for the Redis tests: the test database, worker subprocesses, a private server.

The tests use the Redis at ``FLOWRRA_TEST_REDIS_URL`` (default db 11 on 127.0.0.1). Each test
works under a key prefix of its own and deletes its keys at the end, so runs that overlap do
not disturb each other. Without a reachable Redis the tests are skipped, or fail when
``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from flowrra import BackendConfig, BrokerConfig, Config, ExecutorConfig, Flowrra
from tests.services import skip_unavailable, unavailable
from tests.waiting import wait_until

from .tasks_app import REDIS_URL, executions_key

ROOT = Path(__file__).resolve().parents[3]


def redis_missing() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable ({exc})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [
        item
        for item in items
        if here in Path(item.path).parents and "r" in getattr(item, "fixturenames", ())
    ]
    if not mine:
        return
    for item in mine:
        item.add_marker(pytest.mark.redis)
    skip_unavailable(mine, redis_missing(), "start Redis or set FLOWRRA_TEST_REDIS_URL")


@dataclass
class Space:
    """One test's corner of the test database: its URL (with its own ``key_prefix``)."""

    url: str
    prefix: str
    client: redis.Redis

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def executions(self) -> list[str]:
        """Labels of the tasks run so far, in order (see :mod:`.tasks_app`)."""
        return [x.decode() for x in self.client.lrange(executions_key(self.url), 0, -1)]

    def clean(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}:*", count=1000))
        if keys:
            self.client.delete(*keys)


def with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}key_prefix={prefix}"


def new_space() -> Space:
    """A key space of its own on the test database (``clean()`` it, close its client)."""
    prefix = f"t{secrets.token_hex(4)}"
    return Space(with_prefix(REDIS_URL, prefix), prefix, redis.Redis.from_url(REDIS_URL))


@pytest.fixture
def r() -> Iterator[Space]:
    """This test's key space on the test database, cleaned up afterwards."""
    space = new_space()
    yield space
    space.clean()
    space.client.close()


def make_app(url: str) -> Flowrra:
    """A producer app on ``url``, with the tasks of :mod:`.tasks_app` registered."""
    from . import tasks_app

    app = Flowrra(
        Config(
            broker=BrokerConfig(url=url),
            backend=BackendConfig(url=url),
            executor=ExecutorConfig(retry_delay=0.05),
        )
    )
    for spec in tasks_app.app.registry:
        app.registry.register(spec)
    return app


@pytest.fixture
async def producer(r: Space) -> AsyncIterator[Flowrra]:
    """A started producer-only app in the test's key space."""
    app = make_app(r.url)
    await app.start(worker=False)
    yield app
    await app.stop()


class WorkerProcess:
    """``python -m flowrra worker --app tests.core.redis.tasks_app:app ...`` in its own
    process group; :meth:`kill` ends it by PID."""

    def __init__(self, *args: str, url: str, log: Path | None = None) -> None:
        command = [sys.executable, "-m", "flowrra", "worker"]
        command += ["--app", "tests.core.redis.tasks_app:app", "--heartbeat-interval", "0.2"]
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env={**os.environ, "FLOWRRA_TEST_REDIS_URL": url},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self._log is not subprocess.DEVNULL:
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@pytest.fixture
def workers(r: Space, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker subprocesses (in the test's key space unless ``url`` says otherwise);
    every one is killed by PID when the test ends."""
    started: list[WorkerProcess] = []

    def start(*args: str, url: str | None = None) -> WorkerProcess:
        log = tmp_path / f"worker{len(started)}.log"
        worker = WorkerProcess(*args, url=url or r.url, log=log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence; with
    ``sentinel_for`` a Sentinel watching that server as ``mymaster``. It listens on
    127.0.0.1, and on the ``also_on`` addresses (test hosts' veth pairs)."""

    def __init__(
        self,
        workdir: Path,
        sentinel_for: RedisServer | None = None,
        *,
        durable: bool = False,
        also_on: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.also_on = list(also_on)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.sentinel_for = sentinel_for
        #: Write every change to an append-only file before answering: a restart loses nothing.
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.sentinel_for is None:
            options = ["--save", "", "--daemonize", "no", "--dir", str(self.workdir)]
            options += (
                ["--appendonly", "yes", "--appendfsync", "always"]
                if self.durable
                else [
                    "--appendonly",
                    "no",
                ]
            )
            command = ["redis-server", "--port", str(self.port), *options]
        else:
            config = self.workdir / f"sentinel-{self.port}.conf"
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor mymaster 127.0.0.1 {self.sentinel_for.port} 1\n"
            )
            command = ["redis-server", str(config), "--sentinel"]
        self.proc = subprocess.Popen(
            [*command, "--bind", "127.0.0.1", *self.also_on]
            + (["--protected-mode", "no"] if self.also_on else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: _answers(client), 10, "the private redis-server")
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(r: Space, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (``r`` only ties it to the Redis availability check)."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sentinel(private_redis: RedisServer, tmp_path: Path) -> Iterator[RedisServer]:
    """A Sentinel watching ``private_redis`` as ``mymaster``."""
    server = RedisServer(tmp_path, sentinel_for=private_redis)
    server.start()
    try:
        yield server
    finally:
        server.stop()
