"""Migration 0002 on rows written before it: schedules keep no accidental options, and
short task names become the dotted names tasks have now."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("flowrra_django", "0001_initial")]
AFTER = [("flowrra_django", "0002_schedule_options_default_to_the_task")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.fixture(autouse=True)
def latest_schema_after() -> Iterator[None]:
    """The test database goes back to the newest migration afterwards: later tests need
    every table (a test's flush empties tables, it does not create them)."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes("flowrra_django"))


def test_old_prefills_and_short_names_are_brought_forward() -> None:
    old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
    schedules = old_apps.get_model("flowrra_django", "ScheduledTask").objects
    prefilled = schedules.create(
        name="prefilled", task_name="send_receipt", schedule_type="interval", schedule="60",
        queue="default", priority=0, max_retries=3, retry_delay=1.0,
    )  # fmt: skip
    chosen = schedules.create(
        name="chosen", task_name="nobody_has_this", schedule_type="interval", schedule="60",
        queue="urgent", priority=7, max_retries=1, retry_delay=2.5,
    )  # fmt: skip
    old_apps.get_model("flowrra_django", "TaskResult").objects.create(
        task_id="t1", task_name="add", status="success"
    )
    new_apps = migrate(AFTER).loader.project_state(AFTER).apps
    rows = new_apps.get_model("flowrra_django", "ScheduledTask").objects
    fields = ("task_name", "queue", "priority", "max_retries", "retry_delay")
    assert rows.values_list(*fields).get(pk=prefilled.pk) == (
        "tests.django.testapp.tasks.send_receipt", "", None, None, None,
    )  # fmt: skip
    assert rows.values_list(*fields).get(pk=chosen.pk) == (
        "nobody_has_this", "urgent", 7, 1, 2.5,
    )  # fmt: skip
    result = new_apps.get_model("flowrra_django", "TaskResult").objects.get(task_id="t1")
    assert result.task_name == "tests.django.testapp.tasks.add"
