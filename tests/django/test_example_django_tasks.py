"""The example site's Django Tasks page: a ``django.tasks`` task enqueued from the page runs
in the example's ``flowrra_worker``, and the page shows its result."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.django.conftest import ROOT
from tests.django.test_example_project import manage

pytestmark = pytest.mark.skipif(
    os.environ.get("FLOWRRA_TEST_DB", "sqlite") != "sqlite",
    reason="the example site has its own SQLite database; it runs in the SQLite pass",
)

ENQUEUE = """
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("bob", "bob@example.com", "pw")
client = Client()
client.login(username="bob", password="pw")
print(client.post("/shop/report/", {"hours": "2"}).status_code)
print(client.post("/shop/report/", {"hours": "-1"}).status_code)
print(client.cookies["sessionid"].value)
"""

SHOW = """
import json
from django.test import Client
from flowrra_django.models import TaskResult
client = Client()
client.cookies["sessionid"] = SESSION  # the reports enqueued are listed per session
page = client.get("/shop/report/").content.decode()
row = TaskResult.objects.get()
print(json.dumps({"page": page, "row": [row.task_name, row.queue, row.status, row.result]}))
"""


def test_the_report_page_enqueues_a_django_task_that_the_worker_runs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'example.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
        "FLOWRRA_BROKER_URL": "django://",
        "PYTHONPATH": str(ROOT),
    }
    manage(env, "migrate", "-v", "0")
    *_, enqueued, rejected, session = manage(env, "shell", "-c", ENQUEUE).split()
    assert (enqueued, rejected) == ("302", "400")
    banner = manage(env, "flowrra_worker", "--burst", "--loglevel", "WARNING")
    assert "reports" in banner and "example_project.shop.reports.summarize_results" in banner
    shown = json.loads(
        manage(env, "shell", "-c", f"SESSION = {session!r}\n{SHOW}").strip().splitlines()[-1]
    )
    name, queue, status, report = shown["row"]
    assert (name, queue, status) == (
        "example_project.shop.reports.summarize_results",
        "reports",
        "success",
    )
    assert (report["hours"], report["attempt"]) == (2, 1)
    assert sum(report["by_status"].values()) == 1  # itself, pending or running
    assert "SUCCESSFUL" in shown["page"]
    assert "&#x27;attempt&#x27;: 1" in shown["page"]
