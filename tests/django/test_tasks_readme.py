"""The README's section "Using Django's Tasks framework" runs as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from flowrra_django.models import QueuedMessage
from tests.django.conftest import ROOT
from tests.readme import block_starting

if find_spec("django.tasks") is None:
    pytest.importorskip("django_tasks", reason="Django 5.2 needs flowrra[django-tasks]")

from flowrra_django.tasks_backend import FlowrraTaskBackend
from flowrra_django.tasks_compat import task_backends

pytestmark = pytest.mark.django_db(transaction=True)

SETTINGS_BLOCK = "# settings.py, for Django's Tasks framework"
TASKS_BLOCK = (
    "# reports.py: a task of Django's Tasks framework, enqueued and looked up as Django documents"
)


def readme_tasks_setting() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(block_starting(SETTINGS_BLOCK), namespace)
    tasks: dict[str, Any] = namespace["TASKS"]
    return tasks


def test_the_readme_settings_make_a_valid_backend() -> None:
    with override_settings(TASKS=readme_tasks_setting()):
        backend = task_backends["default"]
        assert isinstance(backend, FlowrraTaskBackend)
        assert backend.queues == {"default", "reports"}
        assert list(backend.check()) == []


def test_the_readme_task_is_enqueued_and_looked_up(tmp_path: Path) -> None:
    code = block_starting(TASKS_BLOCK)
    if find_spec("django.tasks") is None:  # as its comment says
        code = code.replace("from django.tasks import", "from django_tasks import", 1)
    (tmp_path / "readme_reports.py").write_text(code)
    # in a process of its own: the task it registers stays out of this process's registry
    script = LOOK_UP.format(tasks=readme_tasks_setting())
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django.settings",
            "FLOWRRA_TEST_SUBPROCESS": "1",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result_id, status, args = json.loads(done.stdout.strip().splitlines()[-1])
    assert (status, args) == ("READY", [24])
    message = QueuedMessage.objects.get(task_id=result_id)
    assert (message.queue, message.priority) == ("reports", 6)


LOOK_UP = """
import json
import django
django.setup()
from django.test import override_settings
with override_settings(TASKS={tasks!r}):
    import readme_reports as module
    found = module.summarize.get_result(module.result.id)
print(json.dumps([module.result.id, str(found.status), found.args]))
"""
