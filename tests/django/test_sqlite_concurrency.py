"""A new project on SQLite, configured as ``startproject`` leaves it, under concurrency:
8 processes submitting inside their own transactions while 2 workers run the tasks."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.django.conftest import ROOT
from tests.fresh_project import FreshProject, stop_all

pytestmark = pytest.mark.skipif(
    os.environ.get("FLOWRRA_TEST_DB", "sqlite") != "sqlite",
    reason="a fresh project has its own SQLite database; it runs in the SQLite pass",
)

SUBMITTERS = 8
PER_SUBMITTER = 40

SUBMIT = """
import flowrra_django
from django.contrib.auth.models import Group
from django.db import transaction
from shop.tasks import send_receipt
for i in range({count}):
    with transaction.atomic():  # a view reads, writes, and submits when it commits
        number = Group.objects.filter(name__startswith="{tag}-").count()
        group = Group.objects.create(name="{tag}-" + str(number))
        flowrra_django.submit(send_receipt, group.pk)
print("submitted")
"""


def finished(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM flowrra_django_taskresult WHERE status IN ('success', 'failed')"
        ).fetchone()
    return int(count)


def test_eight_submitters_and_two_workers_never_meet_a_locked_database(tmp_path: Path) -> None:
    project = FreshProject(tmp_path / "site", sys.executable, {"PYTHONPATH": str(ROOT)}).create()
    project.manage("migrate", "-v", "0")
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = [project.start("flowrra_worker", log=logs / f"worker{i}.log") for i in range(2)]
    submitters = [
        project.start(
            "shell", "-c", SUBMIT.format(count=PER_SUBMITTER, tag=f"s{i}"), log=logs / f"s{i}.log"
        )
        for i in range(SUBMITTERS)
    ]
    try:
        for submitter in submitters:
            submitter.wait(180)
        total = SUBMITTERS * PER_SUBMITTER
        deadline = time.monotonic() + 120
        while finished(project.root / "db.sqlite3") < total and time.monotonic() < deadline:
            time.sleep(0.2)
        done = finished(project.root / "db.sqlite3")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(60)
        stop_all(workers + submitters)
    output = {log.name: log.read_text() for log in sorted(logs.iterdir())}
    locked = {name: text for name, text in output.items() if "database is locked" in text}
    assert locked == {}, locked
    assert [s.returncode for s in submitters] == [0] * SUBMITTERS, output
    assert all(output[f"s{i}.log"].strip().endswith("submitted") for i in range(SUBMITTERS))
    assert done == total, output
    with sqlite3.connect(project.root / "db.sqlite3") as db:
        statuses = dict(
            db.execute(
                "SELECT status, COUNT(*) FROM flowrra_django_taskresult GROUP BY status"
            ).fetchall()
        )
    assert statuses == {"success": total}
    assert [w.returncode for w in workers] == [0, 0], output


def test_options_the_project_set_against_it_are_a_warning(tmp_path: Path) -> None:
    project = FreshProject(tmp_path / "site", sys.executable, {"PYTHONPATH": str(ROOT)}).create()
    assert "System check identified no issues" in project.manage("check").stdout
    applied = project.shell(
        "from django.db import connection; o = connection.settings_dict['OPTIONS']\n"
        "print(o['transaction_mode'], o['timeout'], o['init_command'])\n"
        "print(connection.cursor().execute('PRAGMA journal_mode').fetchone()[0])"
    )
    assert applied.splitlines()[-2:] == ["IMMEDIATE 20 PRAGMA journal_mode=WAL;", "wal"]

    with (project.root / "mysite" / "settings.py").open("a") as settings:
        settings.write("DATABASES['default']['OPTIONS'] = {'transaction_mode': 'DEFERRED'}\n")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
    )
    assert " ".join(done.stderr.split()) == (
        "System check identified some issues: WARNINGS: ?: (flowrra.W001) FLOWRRA['BROKER_URL'] "
        "uses the SQLite database 'default', whose OPTIONS say: transaction_mode is "
        "'DEFERRED', not 'IMMEDIATE'. Concurrent submitters and workers will meet 'database "
        "is locked'. HINT: Set DATABASES['default']['OPTIONS'] to include {'transaction_mode': "
        "'IMMEDIATE', 'timeout': 20, 'init_command': 'PRAGMA journal_mode=WAL;'}, or remove "
        "the options that differ (flowrra_django then applies these). System check "
        "identified 1 issue (0 silenced)."
    )
