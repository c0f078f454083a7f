"""Submitting from Django code: sync and async, waiting for the commit, bad input, revoke."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test import override_settings

import flowrra_django
from flowrra import TaskNotFoundError
from flowrra_django import runtime
from flowrra_django.models import QueuedMessage, TaskResult
from tests.django.testapp import tasks

pytestmark = pytest.mark.django_db(transaction=True)


def queued_ids() -> list[str]:
    return list(QueuedMessage.objects.values_list("task_id", flat=True))


def test_submit_records_a_pending_result_and_queues_the_message() -> None:
    task_id = flowrra_django.submit(tasks.add, 2, b=3)
    row = TaskResult.objects.get(task_id=task_id)
    assert (row.task_name, row.status, row.args, row.kwargs) == (
        "tests.django.testapp.tasks.add",
        "pending",
        [2],
        {"b": 3},
    )
    assert queued_ids() == [task_id]


def test_submit_by_name_with_options() -> None:
    task_id = flowrra_django.options(priority=9, queue="urgent", countdown=60).submit("add", 1, 2)
    message = QueuedMessage.objects.get(task_id=task_id)
    assert (message.queue, message.priority) == ("urgent", 9)
    assert message.available_at > time.time() + 30


def test_a_rolled_back_transaction_queues_nothing() -> None:
    with pytest.raises(RuntimeError, match="rollback"), transaction.atomic():
        flowrra_django.submit(tasks.add, 1, 1)
        raise RuntimeError("rollback")
    assert queued_ids() == []
    assert not TaskResult.objects.exists()


SQLITE = connection.vendor == "sqlite"
ONE_WRITER = "cannot be queued at once inside transaction.atomic\\(\\) on SQLite"


def test_on_commit_false_queues_at_once() -> None:
    with transaction.atomic():
        if SQLITE:  # the transaction holds the only write lock: say so, never hang
            with pytest.raises(TransactionManagementError, match=ONE_WRITER):
                flowrra_django.options(on_commit=False).submit(tasks.add, 1, 1)
            return
        task_id = flowrra_django.options(on_commit=False).submit(tasks.add, 1, 1)
        assert queued_ids() == [task_id]


@override_settings(FLOWRRA={"SUBMIT_ON_COMMIT": False})
def test_the_setting_decides_the_default() -> None:
    task_id = flowrra_django.submit(tasks.add, 1, 1)
    assert queued_ids() == [task_id]
    with transaction.atomic():
        if SQLITE:
            with pytest.raises(TransactionManagementError, match=ONE_WRITER):
                flowrra_django.submit(tasks.add, 1, 1)
            return
        task_id = flowrra_django.submit(tasks.add, 1, 1)
        assert task_id in queued_ids()


def test_arguments_the_function_cannot_take_fail_at_once_and_store_nothing() -> None:
    receipt = "'tests.django.testapp.tasks.send_receipt' cannot take these arguments"
    with pytest.raises(TypeError, match=f"{receipt}: too many positional arguments"):
        flowrra_django.submit(tasks.send_receipt, 1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        asyncio.run(flowrra_django.asubmit(tasks.send_receipt, 1, colour="red"))
    missing = "missing a required argument: 'order_id'"
    with pytest.raises(TypeError, match=missing), transaction.atomic():  # checked before commit
        flowrra_django.options(queue="urgent").submit("send_receipt")
    assert queued_ids() == [] and not TaskResult.objects.exists()


def test_arguments_that_are_not_json_fail_at_once_and_queue_nothing() -> None:
    with pytest.raises(TypeError, match="positional argument 0 cannot be sent as JSON"):
        flowrra_django.submit(tasks.add, object(), 1)
    with pytest.raises(TypeError, match="keyword argument 'b'"), transaction.atomic():
        flowrra_django.submit(tasks.add, 1, b=object())
    assert queued_ids() == []


def test_an_unregistered_task_is_refused() -> None:
    with pytest.raises(
        TaskNotFoundError,
        match=r"'nope' is not registered\. Registered tasks: .*tests\.django\.testapp\.tasks\.add",
    ):
        flowrra_django.submit("nope")


async def test_async_code_uses_asubmit_and_gets_a_clear_error_from_submit() -> None:
    with pytest.raises(RuntimeError, match=r"await flowrra_django.asubmit"):
        flowrra_django.submit(tasks.add, 1, 1)
    task_id = await flowrra_django.asubmit(tasks.add, 4, 5)
    row = await TaskResult.objects.aget(task_id=task_id)
    assert row.args == [4, 5]
    assert await flowrra_django.arevoke(task_id) is True


def test_revoke_stops_a_task_that_has_not_started() -> None:
    task_id = flowrra_django.submit(tasks.add, 1, 1)
    assert flowrra_django.revoke(task_id) is True
    assert TaskResult.objects.get(task_id=task_id).status == "revoked"
    assert queued_ids() == []
    assert flowrra_django.revoke(task_id) is False


def test_the_producer_thread_restarts_after_shutdown() -> None:
    first = flowrra_django.submit(tasks.add, 1, 1)
    runtime.shutdown()
    second = flowrra_django.submit(tasks.add, 2, 2)
    assert sorted(queued_ids()) == sorted([first, second])


def test_the_decorator_registers_in_the_project_app() -> None:
    registry = flowrra_django.get_app().registry
    assert registry.get("add").func is tasks.add
    assert registry.get("cpu_count_results").cpu_bound
    assert registry.get("fail").max_retries == 0
    with pytest.raises(TypeError, match="is a regular function"):

        @flowrra_django.task
        def not_async() -> None: ...
