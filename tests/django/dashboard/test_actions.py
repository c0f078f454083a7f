"""Actions as staff with the permissions: retry, revoke, and every schedule change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

import flowrra_django
from flowrra_django.models import QueuedMessage, ScheduledTask, TaskResult
from tests.django.testapp import tasks

pytestmark = pytest.mark.django_db(transaction=True)


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_retry_submits_the_task_again_linked_to_the_original(
    operator: Client, make_result: Callable[..., TaskResult]
) -> None:
    original = make_result("bad-1", "failed", args=[2, 3], queue="mail", priority=5)
    response = operator.post(reverse("flowrra:task-retry", args=["bad-1"]), follow=True)
    assert messages_of(response) == ["Submitted the task again."]
    retried = TaskResult.objects.get(retry_of=original)
    assert (retried.args, retried.queue, retried.priority) == ([2, 3], "mail", 5)
    assert QueuedMessage.objects.filter(task_id=retried.task_id).exists()
    assert response.request["PATH_INFO"] == reverse("flowrra:task", args=[retried.task_id])


def test_retry_of_a_task_no_longer_registered_says_so(
    operator: Client, make_result: Callable[..., TaskResult]
) -> None:
    make_result("gone-1", "failed", task_name="removed_task")
    response = operator.post(reverse("flowrra:task-retry", args=["gone-1"]), follow=True)
    assert "not a registered task" in messages_of(response)[0]
    assert TaskResult.objects.count() == 1
    assert operator.post(reverse("flowrra:task-retry", args=["nope"])).status_code == 404


def test_revoke_stops_a_waiting_task_and_refuses_a_finished_one(
    operator: Client, make_result: Callable[..., TaskResult]
) -> None:
    task_id = flowrra_django.submit(tasks.add, 1, 2)
    response = operator.post(reverse("flowrra:task-revoke", args=[task_id]), follow=True)
    assert messages_of(response) == ["Revoked: no worker will run it."]
    assert TaskResult.objects.get(task_id=task_id).status == "revoked"
    assert not QueuedMessage.objects.filter(task_id=task_id).exists()
    make_result("done-1")
    response = operator.post(reverse("flowrra:task-revoke", args=["done-1"]), follow=True)
    assert "already started or finished" in messages_of(response)[0]
    assert TaskResult.objects.get(task_id="done-1").status == "success"


def test_a_schedule_is_created_edited_toggled_run_and_deleted(operator: Client) -> None:
    form = {
        "name": "tokyo morning",
        "task_name": "add",
        "schedule_type": "cron",
        "schedule": "30 9 * * *",
        "timezone": "Asia/Tokyo",
        "args": "[1, 2]",
        "kwargs": "{}",
        "priority": "3",
        "enabled": "1",
    }
    bad = operator.post(reverse("flowrra:schedule-add"), {**form, "schedule": "99 * * * *"})
    assert bad.status_code == 400 and set(bad.context["errors"]) == {"schedule"}
    assert not ScheduledTask.objects.exists()
    previewed = operator.post(reverse("flowrra:schedule-add"), {**form, "_preview": "1"})
    assert previewed.status_code == 200 and len(previewed.context["preview"]) == 5
    assert not ScheduledTask.objects.exists()

    response = operator.post(reverse("flowrra:schedule-add"), form, follow=True)
    assert messages_of(response) == ["Saved the schedule."]
    row = ScheduledTask.objects.get()
    assert (row.schedule, row.timezone, row.args, row.priority) == (
        "30 9 * * *",
        "Asia/Tokyo",
        [1, 2],
        3,
    )
    assert row.next_run_at is not None

    edit = {**form, "schedule_type": "interval", "schedule": "90"}
    operator.post(reverse("flowrra:schedule", args=[row.pk]), edit)
    row.refresh_from_db()
    assert (row.schedule_type, row.schedule) == ("interval", "90")

    operator.post(reverse("flowrra:schedule-disable", args=[row.pk]))
    row.refresh_from_db()
    assert not row.enabled and row.next_run_at is None
    operator.post(reverse("flowrra:schedule-enable", args=[row.pk]))
    row.refresh_from_db()
    assert row.enabled and row.next_run_at is not None

    response = operator.post(reverse("flowrra:schedule-run", args=[row.pk]), follow=True)
    assert messages_of(response)[-1] == "Submitted the task now."
    submitted = TaskResult.objects.get()
    assert (submitted.task_name, submitted.args, submitted.priority) == (
        "tests.django.testapp.tasks.add",
        [1, 2],
        3,
    )

    operator.post(reverse("flowrra:schedule-delete", args=[row.pk]))
    assert not ScheduledTask.objects.exists()
    assert operator.post(reverse("flowrra:schedule-delete", args=[row.pk])).status_code == 404
    assert operator.get(reverse("flowrra:schedule", args=[row.pk])).status_code == 404
