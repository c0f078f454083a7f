"""A schedule made in the admin sends its task with the task's own queue and retry
settings unless the user sets them on purpose: empty fields mean "the task's default"."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from flowrra.scheduler import ManualClock, Scheduler
from flowrra_django import runtime
from flowrra_django.models import QueuedMessage, ScheduledTask, TaskResult
from flowrra_django.schedule_store import DjangoSchedulerBackend
from tests.django.test_admin import schedule_form

pytestmark = pytest.mark.django_db(transaction=True)

RECEIPT = "tests.django.testapp.tasks.send_receipt"
OPTIONS = ("queue", "priority", "max_retries", "retry_delay")
ADD = reverse("admin:flowrra_django_scheduledtask_add")


def fire_due_schedules() -> None:
    """Plan the schedules, then fire them one interval later, through the project's app."""
    clock = ManualClock(dt.datetime.now(dt.UTC))
    scheduler = Scheduler(DjangoSchedulerBackend(), app=runtime.get_app(), clock=clock)

    async def plan_then_fire() -> list[str]:
        await scheduler.run_pending()
        await clock.advance(60)
        fired = await scheduler.run_pending()
        await scheduler.store.close()
        return fired

    assert len(runtime.run_sync(plan_then_fire)) == ScheduledTask.objects.count()


def test_the_add_form_leaves_the_task_options_empty(admin_client: Client) -> None:
    html = admin_client.get(ADD).content.decode()
    for name in OPTIONS:
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert field is not None, name
        assert "value=" not in field.group(0), field.group(0)
        assert "task&#x27;s default" in field.group(0)


def test_a_schedule_with_empty_options_sends_the_task_with_its_own(admin_client: Client) -> None:
    empty = dict.fromkeys(OPTIONS, "")
    form = schedule_form(
        task_name=RECEIPT, schedule_type="interval", schedule="60", args="[7]", **empty
    )
    assert admin_client.post(ADD, form).status_code == 302
    row = ScheduledTask.objects.get()
    assert (row.queue, row.priority, row.max_retries, row.retry_delay) == ("", None, None, None)

    fire_due_schedules()
    message = QueuedMessage.objects.get()
    assert message.queue == "emails"
    assert (message.payload["max_retries"], message.payload["retry_delay"]) == (0, 5.0)
    call_command("flowrra_worker", "--burst", "-Q", "emails", stdout=StringIO())
    result = TaskResult.objects.get()
    assert (result.task_name, result.status, result.result) == (RECEIPT, "success", 7)


def test_options_set_on_purpose_win(admin_client: Client) -> None:
    form = schedule_form(
        task_name=RECEIPT,
        schedule_type="interval",
        schedule="60",
        args="[8]",
        queue="urgent",
        priority="9",
        max_retries="2",
        retry_delay="",
    )
    assert admin_client.post(ADD, form).status_code == 302
    fire_due_schedules()
    message = QueuedMessage.objects.get()
    assert (message.queue, message.priority) == ("urgent", 9)
    assert (message.payload["max_retries"], message.payload["retry_delay"]) == (2, 5.0)


def test_arguments_the_task_cannot_take_are_a_form_error(admin_client: Client) -> None:
    form = schedule_form(task_name=RECEIPT, args="[1, 2]", kwargs='{"colour": "red"}')
    response = admin_client.post(ADD, form)
    assert response.status_code == 200
    assert "cannot take these arguments: too many positional arguments" in (
        response.content.decode()
    )
    assert not ScheduledTask.objects.exists()
