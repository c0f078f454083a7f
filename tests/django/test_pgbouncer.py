"""PostgreSQL behind PgBouncer in transaction pooling: a worker and a beat, in processes of
their own, reach the database only through a PgBouncer that the test starts in front of the
test server. Needs FLOWRRA_TEST_DB=postgres and Debian's pgbouncer (``make pgbouncer``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections

import flowrra_django
from flowrra_django.models import QueuedMessage, ScheduledTask, TaskResult
from flowrra_django.wakeups import CHANNEL
from tests.core.redis.conftest import free_port
from tests.django.conftest import ROOT, WorkerProcess
from tests.django.testapp import tasks
from tests.services import unavailable
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

Start = Callable[..., WorkerProcess]


def _url(port: int) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{port}/{db['NAME']}"


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """A PgBouncer of this test's own (transaction pooling, two server connections) on a
    free loopback port, in front of the test server; its port."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("PostgreSQL only (FLOWRRA_TEST_DB=postgres)")
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(binary, os.X_OK):
        unavailable("pgbouncer is not installed", "run 'make pgbouncer' (Debian's package)")
    db, port = settings.DATABASES["default"], free_port()
    password = f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""
    folder = Path(tempfile.mkdtemp(prefix="flowrra-pgbouncer-"))
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = any\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 50\n"
        "unix_socket_dir =\nlogfile =\npidfile =\n"
    )
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    log = (folder / "log").open("wb")
    server = subprocess.Popen([binary, *as_user, str(config)], stdout=log, stderr=log)
    try:
        wait_until(lambda: _answers(port), 20, "the test's pgbouncer")
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        psycopg.connect(_url(port), connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def _pooled(port: int, **env: str) -> dict[str, str]:
    return {"FLOWRRA_TEST_DATABASE_URL": _url(port), **env}


def _listening() -> int:
    """Sessions of this test's database that LISTEN for new messages."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = %s",
            [f"LISTEN {CHANNEL}"],
        )
        return int(cursor.fetchone()[0])


def test_a_worker_and_a_beat_work_through_pgbouncer_and_listen_on_the_direct_url(
    pgbouncer: int, worker_process: Start
) -> None:
    schedule = ScheduledTask.objects.create(
        name="every second", task_name="add", schedule_type="interval", schedule="1", args=[2, 3]
    )
    ids = [flowrra_django.submit(tasks.add, i, i) for i in range(300)]
    direct = _url(int(settings.DATABASES["default"]["PORT"] or 5432))
    env = _pooled(pgbouncer, FLOWRRA_TEST_DIRECT_DATABASE_URL=direct)
    worker = worker_process("--prefetch", "64", env=env)
    beat = worker_process("--interval", "0.2", env=env, command="flowrra_beat")

    done = TaskResult.objects.filter(task_id__in=ids, status="success")
    wait_until(lambda: done.count() == len(ids), 90, "the worker to run the tasks")
    wait_until(lambda: _listening() == 1, 30, "the worker to LISTEN on the direct URL")
    later = flowrra_django.submit(tasks.add, 20, 22)  # woken by the NOTIFY, through the pooler
    wait_until(lambda: TaskResult.objects.filter(task_id=later, status="success").exists())
    schedule.refresh_from_db()
    wait_until(lambda: _fired(schedule) >= 2, 30, "the beat to fire twice")

    # nothing of the worker's session state reached other clients of the pool
    with psycopg.connect(_url(pgbouncer), autocommit=True, prepare_threshold=None) as other:
        seen = {str(other.execute("SHOW enable_sort").fetchone()) for _ in range(20)}
    assert seen == {"('on',)"}

    beat.signal(signal.SIGTERM)
    assert beat.wait(60) == 0
    wait_until(lambda: not QueuedMessage.objects.exists(), 30, "the worker to run what is queued")
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0
    errors = "".join(p.output()[1] for p in (worker, beat))
    assert "Traceback" not in errors and "pooler" not in errors
    assert set(done.values_list("result", flat=True)) == {2 * i for i in range(len(ids))}


def test_without_a_direct_url_workers_poll_and_the_check_says_so(
    pgbouncer: int, worker_process: Start
) -> None:
    ids = [flowrra_django.submit(tasks.add, i, 1) for i in range(20)]
    worker = worker_process(env=_pooled(pgbouncer))
    done = TaskResult.objects.filter(task_id__in=ids, status="success")
    wait_until(lambda: done.count() == len(ids), 60, "the worker to run the tasks")
    wait_until(lambda: "DIRECT_DATABASE_URL" in worker.output()[1], 30, "the worker's warning")
    assert "reached through a connection pooler" in worker.output()[1]
    assert _listening() == 0
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0

    check = subprocess.run(
        [sys.executable, "-m", "django", "check", "--database", "default"],
        cwd=ROOT,
        env=worker.environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "flowrra.W020" in check.stderr + check.stdout


def _fired(schedule: ScheduledTask) -> int:
    schedule.refresh_from_db()
    return schedule.total_run_count
