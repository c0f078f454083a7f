"""``/flowrra/health`` with a Redis and a PostgreSQL server of the test's own, stopped
half-way: 200 while they answer, then 503 naming what is down and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from flowrra_django import runtime
from tests.core.redis.conftest import RedisServer, free_port
from tests.django.conftest import ROOT
from tests.services import unavailable
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _secrets_absent(text: str, *secrets: str) -> None:
    for secret in ("redis://", "postgres", "127.0.0.1", *secrets):
        assert secret not in text, f"{secret!r} leaked into {text}"


@pytest.mark.redis
def test_redis_down_is_a_503_naming_the_broker_and_result_backend(
    anonymous: Client, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    runtime.shutdown()
    redis_settings = {**settings.FLOWRRA, "BROKER_URL": server.url, "RESULT_BACKEND": server.url}
    try:
        with override_settings(FLOWRRA=redis_settings):
            up = anonymous.get("/flowrra/health")
            assert up.status_code == 200, up.content
            assert up.json()["components"]["broker"]["status"] == "ok"
            server.stop()
            down = anonymous.get("/flowrra/health")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "down"
            assert body["down"] == ["broker", "result_backend"]
            assert body["components"]["database"]["status"] == "ok"
            _secrets_absent(down.content.decode(), str(server.port))
            runtime.shutdown()
    finally:
        server.stop()
        runtime.shutdown()


class PostgresServer:
    """A PostgreSQL cluster of the test's own on a free port (run as the ``postgres``
    user, since initdb refuses root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="flowrra-health-pg-"))
        self.data = self.dir / "data"
        self.dir.chmod(0o755)
        shutil.chown(self.dir, "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        options = f"-p {self.port} -k {self.dir} -h 127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        unavailable("PostgreSQL's initdb and pg_ctl are not installed")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()


def test_the_database_down_is_a_503_naming_it(postgres_server: PostgresServer) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.api.health_settings",
        "FLOWRRA_HEALTH_DATABASE_URL": postgres_server.url,
        "PYTHONPATH": str(ROOT),
    }
    probe = subprocess.Popen(
        [sys.executable, "-m", "tests.django.api.health_probe"],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert probe.stdin is not None and probe.stdout is not None

    def ask() -> dict[str, object]:
        probe.stdin.write("health\n")  # type: ignore[union-attr]
        probe.stdin.flush()  # type: ignore[union-attr]
        return json.loads(probe.stdout.readline())  # type: ignore[union-attr]

    try:
        assert probe.stdout.readline().strip() == "ready"
        up = ask()
        assert up["status"] == 200, up
        postgres_server.stop()
        down = ask()
        assert down["status"] == 503
        body = down["body"]
        assert isinstance(body, dict) and body["down"][0] == "database"
        assert set(body["down"]) <= {"database", "broker", "result_backend"}
        assert body["components"]["beat"]["status"] == "unknown"
        _secrets_absent(json.dumps(body), str(postgres_server.port))
    finally:
        probe.stdin.close()
        probe.stdout.close()
        if probe.poll() is None:
            os.killpg(probe.pid, signal.SIGTERM)
        probe.wait(timeout=30)
        wait_until(lambda: probe.poll() is not None, 10, "the probe to exit")
