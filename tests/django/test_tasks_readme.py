"""The README's section "Using Django's Tasks framework" runs as written."""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from flowrra_django.models import QueuedMessage
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


def test_the_readme_task_is_enqueued_and_looked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = block_starting(TASKS_BLOCK)
    if find_spec("django.tasks") is None:  # as its comment says
        code = code.replace("from django.tasks import", "from django_tasks import", 1)
    (tmp_path / "readme_reports.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(TASKS=readme_tasks_setting()):
        module = importlib.import_module("readme_reports")
        looked_up = module.summarize.get_result(module.result.id)
    assert looked_up.status == "READY" and looked_up.args == [24]
    message = QueuedMessage.objects.get(task_id=module.result.id)
    assert (message.queue, message.priority) == ("reports", 6)
