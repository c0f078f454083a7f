"""In a Django project a task is named by its dotted path, so two apps may both define
``send_receipt``; an explicit ``name=`` wins, and error hints speak ``@task``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flowrra import Flowrra, TaskNotFoundError
from tests.django.conftest import ROOT

SCRIPT = """
import json
import django
django.setup()
import flowrra_django
from flowrra import TaskNotFoundError
from tests.django.namesakes import billing, shop

registry = flowrra_django.get_app().registry
report = {"names": sorted(spec.name for spec in registry if "namesakes" in spec.name
                          or spec.name.startswith("billing."))}
try:
    flowrra_django.get_app().registry.get("send_receipt")
except TaskNotFoundError as exc:
    report["ambiguous"] = str(exc)
report["short_unique"] = registry.get("add").name
try:
    flowrra_django.submit("nope")
except TaskNotFoundError as exc:
    report["unknown"] = str(exc)
try:
    flowrra_django.task(lambda: None)
except TypeError as exc:
    report["sync"] = str(exc)
print(json.dumps(report))
"""


def run_script() -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.settings",
        "FLOWRRA_TEST_SUBPROCESS": "1",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_two_apps_may_define_the_same_task_name() -> None:
    report = run_script()
    assert report["names"] == [
        "billing.refund",
        "tests.django.namesakes.billing.send_receipt",
        "tests.django.namesakes.shop.send_receipt",
    ]
    assert report["ambiguous"] == (
        "Task name 'send_receipt' is ambiguous: tests.django.namesakes.billing.send_receipt, "
        "tests.django.namesakes.shop.send_receipt, tests.django.testapp.tasks.send_receipt are "
        "all called so; use the full name."
    )
    # a short name only one task has still finds it (names stored before 0.2)
    assert report["short_unique"] == "tests.django.testapp.tasks.add"


def test_error_hints_speak_the_django_api() -> None:
    report = run_script()
    assert report["unknown"].endswith(
        "Decorate the function with @task() (from flowrra_django import task) in an app's tasks.py."
    )
    assert "@app.task" not in report["unknown"]
    assert "register it with @task(cpu_bound=True)" in report["sync"]
    assert "@app.task" not in report["sync"]


def test_the_core_api_keeps_its_own_hints() -> None:
    app = Flowrra()
    try:
        app.registry.get("nope")
    except TaskNotFoundError as exc:
        assert str(exc).endswith("Decorate the function with @app.task().")
    else:
        raise AssertionError("no TaskNotFoundError")
