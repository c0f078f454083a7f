"""Django's priorities, statuses and results as Flowrra's (pure functions, no worker)."""

from __future__ import annotations

from importlib.util import find_spec

import pytest

from flowrra.task import TaskResult as FlowrraResult
from flowrra.task import TaskStatus

if find_spec("django.tasks") is None:
    pytest.importorskip("django_tasks", reason="Django 5.2 needs flowrra[django-tasks]")

from flowrra_django.tasks_compat import (
    TASK_MAX_PRIORITY,
    TASK_MIN_PRIORITY,
    TaskResultStatus,
)
from flowrra_django.tasks_mapping import (
    django_priority,
    django_result,
    flowrra_priority,
)
from tests.django.testapp import dj_tasks


def test_priorities_map_onto_all_ten_levels_without_reordering() -> None:
    levels = [flowrra_priority(p) for p in range(TASK_MIN_PRIORITY, TASK_MAX_PRIORITY + 1)]
    assert levels == sorted(levels)
    assert set(levels) == set(range(10))
    assert [flowrra_priority(p) for p in (-100, -50, -10, -1, 0, 1, 10, 50, 99, 100)] == [
        0,
        0,
        2,
        3,
        4,
        5,
        6,
        8,
        8,
        9,
    ]


def test_the_declared_priority_is_kept_when_it_maps_to_the_stored_level() -> None:
    assert django_priority(6, declared=20) == 20
    assert django_priority(6, declared=0) == 10  # the level's own value
    assert all(flowrra_priority(django_priority(level, 0)) == level for level in range(10))


@pytest.mark.parametrize(
    ("status", "expected", "attempts"),
    [
        (TaskStatus.PENDING, TaskResultStatus.READY, 0),
        (TaskStatus.RETRYING, TaskResultStatus.READY, 1),
        (TaskStatus.RUNNING, TaskResultStatus.RUNNING, 2),
        (TaskStatus.SUCCESS, TaskResultStatus.SUCCESSFUL, 2),
        (TaskStatus.FAILED, TaskResultStatus.FAILED, 2),
        (TaskStatus.REVOKED, TaskResultStatus.FAILED, 1),
    ],
)
def test_statuses_and_attempts(status: TaskStatus, expected: str, attempts: int) -> None:
    stored = FlowrraResult("id-1", status, "x", retries=1, worker="w1")
    if status is TaskStatus.PENDING:
        stored.retries = 0
    result = django_result(stored, dj_tasks.add, "default")
    assert (result.status, result.attempts) == (expected, attempts)
    assert result.worker_ids == ["w1"] * attempts


def test_a_builtin_exception_type_becomes_an_importable_class_path() -> None:
    stored = FlowrraResult(
        "id-2", TaskStatus.FAILED, "x", error="bad", error_type="KeyError", traceback="tb"
    )
    [error] = django_result(stored, dj_tasks.add, "default").errors
    assert (error.exception_class, error.traceback) == (KeyError, "tb")
