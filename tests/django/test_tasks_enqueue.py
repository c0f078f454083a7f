"""Enqueueing through ``FlowrraTaskBackend`` without a worker: transactions, checks, finding
Django's tasks by name."""

from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.transaction import TransactionManagementError
from django.test import override_settings

from flowrra_django.models import QueuedMessage, TaskResult

if find_spec("django.tasks") is None:
    pytest.importorskip("django_tasks", reason="Django 5.2 needs flowrra[django-tasks]")

from flowrra_django.tasks_compat import InvalidTask, task_backends, task_enqueued
from flowrra_django.tasks_discovery import find_task
from tests.django.testapp import dj_tasks
from tests.django.testapp.dj_tasks import task

pytestmark = pytest.mark.django_db(transaction=True)

BACKEND = "flowrra_django.tasks_backend.FlowrraTaskBackend"


@pytest.fixture
def enqueued() -> Any:
    seen: list[str] = []

    def receiver(sender: type, task_result: Any, **kwargs: Any) -> None:
        seen.append(task_result.id)

    task_enqueued.connect(receiver)
    yield seen
    task_enqueued.disconnect(receiver)


def seen_by_another_connection() -> bool:
    """Whether a worker (another connection) would see a queued message now."""

    def look() -> bool:
        try:
            return QueuedMessage.objects.exists()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(look).result()


def test_inside_a_transaction_the_task_is_enqueued_with_its_commit(enqueued: list[str]) -> None:
    with transaction.atomic():
        result = dj_tasks.add.enqueue(1, 2)
        assert enqueued == [] and not seen_by_another_connection()
    assert enqueued == [result.id] and result.enqueued_at is not None
    assert seen_by_another_connection()
    assert TaskResult.objects.get(task_id=result.id).status == "pending"
    assert QueuedMessage.objects.get().task_id == result.id


def test_a_rolled_back_transaction_enqueues_nothing(enqueued: list[str]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        dj_tasks.add.enqueue(1, 2)
        raise RuntimeError("roll back")
    assert enqueued == []
    assert not TaskResult.objects.exists() and not QueuedMessage.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"TASKS": {"default": {"BACKEND": BACKEND, "ENQUEUE_ON_COMMIT": False}}},
        {"FLOWRRA": {"SUBMIT_ON_COMMIT": False}},
    ],
    ids=["ENQUEUE_ON_COMMIT", "SUBMIT_ON_COMMIT"],
)
def test_enqueue_on_commit_off_enqueues_at_once(
    overrides: dict[str, Any], enqueued: list[str]
) -> None:
    with override_settings(**overrides), transaction.atomic():
        if connections["default"].vendor == "sqlite":  # its one writer is this transaction
            with pytest.raises(TransactionManagementError, match="cannot be queued at once"):
                dj_tasks.add.enqueue(1, 2)
            return
        result = dj_tasks.add.enqueue(1, 2)
        assert enqueued == [result.id] and seen_by_another_connection()


def test_the_enqueued_message_carries_queue_priority_and_run_after() -> None:
    result = dj_tasks.add.using(priority=50).enqueue(1, 2)
    message = QueuedMessage.objects.get(task_id=result.id)
    assert (message.queue, message.priority) == ("default", 8)
    assert message.payload["name"] == "tests.django.testapp.dj_tasks.add"
    assert message.payload["args"] == [1, 2]


def test_the_backend_checks_queue_names_and_options() -> None:
    params = {
        "BACKEND": BACKEND,
        "QUEUES": ["default", "no spaces"],
        "OPTIONS": {"MAX_RETRIES": -1, "COLOUR": "red"},
    }
    with override_settings(TASKS={"default": params}):
        messages = list(task_backends["default"].check())
    assert [(m.id, m.msg) for m in messages] == [
        (
            "flowrra.E010",
            "TASKS['default']['QUEUES']: queue must be 1-100 characters of letters, digits, "
            "'_', '.', ':' or '-', got 'no spaces'",
        ),
        (
            "flowrra.E011",
            "TASKS['default']: OPTIONS has an unknown key 'COLOUR'; known: "
            "MAX_RETRIES, RETRY_DELAY",
        ),
        (
            "flowrra.E011",
            "TASKS['default']: OPTIONS: max_retries must be a whole number >= 0, got -1",
        ),
    ]


def test_a_worker_finds_a_django_task_by_its_module_path_only() -> None:
    spec = find_task("tests.django.testapp.dj_tasks.whoami")
    assert spec is not None
    assert (spec.name, spec.queue, spec.priority, spec.max_retries) == (
        "tests.django.testapp.dj_tasks.whoami",
        "default",
        4,
        0,
    )
    assert str(inspect.signature(spec.func)) == "(label: 'str') -> 'dict[str, Any]'"
    for name in (
        "tests.django.testapp.tasks.add",  # a Flowrra task
        "tests.django.testapp.dj_tasks.os",  # not a task
        "tests.django.testapp.nowhere.task",
        "add",
    ):
        assert find_task(name) is None


def test_a_task_can_carry_its_own_retry_options() -> None:
    spec = find_task("tests.django.testapp.dj_tasks.patient")
    assert spec is not None
    assert (spec.max_retries, spec.retry_delay) == (5, 0.5)
    assert dj_tasks.patient.using(priority=5).max_retries == 5
    with pytest.raises(InvalidTask, match="max_retries must be a whole number >= 0"):
        task(max_retries=-1)(dj_tasks.add.func)
