"""The example site as the README's demo runs it: its settings, tasks and page, for real."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.django.conftest import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("FLOWRRA_TEST_DB", "sqlite") != "sqlite",
    reason="the example site has its own SQLite database; it runs in the SQLite pass",
)

SUBMIT = """
import flowrra_django
from django.contrib.auth.models import User
from example_project.shop import tasks
user = User.objects.create_user("alice", "alice@example.com", "pw")
ids = {
    "check_url": flowrra_django.submit(tasks.check_url, URL),
    "send_welcome_email": flowrra_django.submit(tasks.send_welcome_email, user.pk),
    "count_primes": flowrra_django.submit(tasks.count_primes, 100),
    "charge_payment": flowrra_django.submit(tasks.charge_payment, 7, 2.5),
    "import_rows": flowrra_django.submit("import_rows", "apples,3\\npears,x"),  # short name
}
"""

REPORT = """
import json
from django.test import Client
from flowrra_django.models import TaskResult
client = Client()
client.login(username="alice", password="pw")
page = client.get("/shop/")
bad = client.post("/shop/", {"task": "nope", "count": "many"})
from django.contrib.auth.models import User
User.objects.create_user("olga", "olga@example.com", "pw", is_staff=True)
staff = Client()
staff.login(username="olga", password="pw")
staff_page = staff.get("/shop/").content.decode()
welcome = Client().get("/").content.decode()
landing = staff.get("/")
login = Client().post("/", {"username": "olga", "password": "pw"})
alice_login = Client().post("/", {"username": "alice", "password": "pw"})
rows = {
    r.task_name: [r.status, r.result, r.error_type, r.retries] for r in TaskResult.objects.all()
}
print(json.dumps({"page": [page.status_code, "Latest tasks" in page.content.decode()],
                  "staff_page": ["Latest tasks" in staff_page, "/flowrra/" in staff_page],
                  "bad_form": [bad.status_code, "Select a valid choice" in bad.content.decode()],
                  "welcome": ["user <code>demo</code>" in welcome, "no Redis" in welcome],
                  "landing": [landing.status_code, landing.get("Location")],
                  "login": [login.status_code, login.get("Location")],
                  "alice_login": alice_login.get("Location"),
                  "results": rows}))
"""


@pytest.fixture
def site_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def example_env(folder: Path) -> dict[str, str]:
    """The example site's environment, with a SQLite database of its own in ``folder``."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in ("REDIS_URL", "CHANNEL_LAYER_URL")  # the embedded default: no Redis
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'example.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
        "FLOWRRA_BROKER_URL": "django://",
        "DEMO_ACCOUNT": "demo:demo",  # as example_project/demo.py sets it
        "PYTHONPATH": str(ROOT),
    }


def test_the_example_tasks_run_and_the_page_works(tmp_path: Path, site_url: str) -> None:
    env = example_env(tmp_path)
    assert "System check identified no issues" in manage(env, "check")
    manage(env, "migrate", "-v", "0")
    manage(env, "shell", "-c", f"URL = {site_url!r}\n{SUBMIT}")
    manage(env, "flowrra_worker", "--max-tasks", "7", "--loglevel", "WARNING")
    report = json.loads(manage(env, "shell", "-c", REPORT).strip().splitlines()[-1])
    assert report["page"] == [200, False]  # a user who is not staff sees nobody's results
    assert report["staff_page"] == [True, True]
    assert report["bad_form"] == [200, True]
    assert report["welcome"] == [True, True]  # the first page: the account, what runs
    assert report["landing"] == [302, "/flowrra/"]  # logged in: the live dashboard
    assert report["login"] == [302, "/flowrra/"]
    assert report["alice_login"] == "/shop/"  # not staff: the shop, not the dashboard's 403
    prefix = "example_project.shop.tasks."  # a task's name is its dotted path
    assert all(name.startswith(prefix) for name in report["results"]), report["results"]
    results = {name.removeprefix(prefix): row for name, row in report["results"].items()}
    assert results["check_url"][0] == "success"
    assert results["check_url"][1]["status"] == "HTTP/1.0 200 OK"
    assert results["send_welcome_email"][:2] == ["success", "alice@example.com"]
    assert results["count_primes"][:2] == ["success", 25]
    payment = results["charge_payment"]
    assert payment[:2] == ["success", {"order": 7, "charged": 2.5, "attempts": 3}]
    assert payment[3] == 2  # two retries
    assert results["import_rows"][0::2] == ["failed", "ValueError"]
