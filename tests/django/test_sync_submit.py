"""A sync submit on ``django://`` is written in the caller's own transaction: workers see
it at the commit, and a rolled-back view leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connections, transaction
from django.test import Client

import flowrra_django
from flowrra_django.models import QueuedMessage, TaskResult
from tests.django.conftest import WorkerProcess
from tests.django.testapp import tasks
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")


def queued_ids() -> list[str]:
    return list(QueuedMessage.objects.values_list("task_id", flat=True))


def elsewhere(query: Callable[[], T]) -> T:
    """``query`` on a connection of another thread, as a worker sees the database."""

    def run() -> T:
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def test_a_submit_inside_a_transaction_is_part_of_it() -> None:
    with transaction.atomic():
        task_id = flowrra_django.submit(tasks.add, 1, 1)
        assert queued_ids() == [task_id]  # written on this connection, in this transaction
        assert elsewhere(queued_ids) == []  # no worker sees it before the commit
        assert TaskResult.objects.get(task_id=task_id).status == "pending"
    assert elsewhere(queued_ids) == [task_id]


def test_a_fire_and_forget_submit_is_part_of_the_transaction_without_a_record() -> None:
    with transaction.atomic():
        task_id = flowrra_django.submit(tasks.forget, 1)
        assert queued_ids() == [task_id]
        assert elsewhere(queued_ids) == []
    assert elsewhere(queued_ids) == [task_id]
    assert not TaskResult.objects.exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        flowrra_django.submit(tasks.forget, 2)
        raise RuntimeError("the view failed")
    assert queued_ids() == [task_id]


def test_a_view_that_rolls_back_leaves_no_message() -> None:
    response = Client(raise_request_exception=False).get("/testapp/submit/?a=1&b=2&fail=1")
    assert response.status_code == 500
    assert elsewhere(queued_ids) == []
    assert not TaskResult.objects.exists()


def test_a_committed_view_s_task_is_run_by_a_worker(
    worker_process: Callable[..., WorkerProcess],
) -> None:
    worker_process()
    task_id = Client().get("/testapp/submit/?a=2&b=3").json()["task_id"]
    done = TaskResult.objects.filter(task_id=task_id, status="success")
    wait_until(done.exists, what="the worker to run the committed task")
    assert done.get().result == 5
    assert queued_ids() == []


def test_on_postgresql_a_submit_s_statement_is_prepared_at_its_second_run() -> None:
    """Parsed and planned once per session from its second run (a connection used once
    pays no extra round trip); what was prepared outlives a rolled-back view, and a new
    connection starts afresh."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite and MySQL run the statement as it is")

    def prepared() -> list[str]:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'flowrra_%%'")
            return [name for (name,) in cursor.fetchall()]

    ids = [flowrra_django.submit(tasks.add, 1, 1)]
    assert prepared() == []
    with pytest.raises(RuntimeError), transaction.atomic():
        flowrra_django.submit(tasks.add, 2, 2)
        raise RuntimeError("the view failed")
    first = prepared()
    assert len(first) == 1
    ids += [flowrra_django.submit(tasks.add, i, i) for i in range(3)]
    assert prepared() == first
    forgotten = [flowrra_django.submit(tasks.forget, i) for i in range(2)]  # another statement
    assert len(set(prepared())) == 2
    connections["default"].close()
    ids += [flowrra_django.submit(tasks.add, i, i) for i in range(2)]
    assert len(prepared()) == 1
    assert sorted(queued_ids()) == sorted(ids + forgotten)
    assert TaskResult.objects.filter(task_id__in=ids, status="pending").count() == len(ids)
