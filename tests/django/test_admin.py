"""The admin as a logged-in staff user: result list, detail, retry, revoke, schedules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import flowrra_django
from flowrra.task import utcnow
from flowrra_django.models import QueuedMessage, ScheduledTask, TaskResult
from tests.django.testapp import tasks

pytestmark = pytest.mark.django_db(transaction=True)

RESULTS = reverse("admin:flowrra_django_taskresult_changelist")
SCHEDULES = reverse("admin:flowrra_django_scheduledtask_changelist")

TASKS = "tests.django.testapp.tasks."


@pytest.fixture
def staff() -> Client:
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    client = Client()
    client.force_login(user)
    return client


def make_result(task_id: str, status: str = "success", **fields: object) -> TaskResult:
    values: dict[str, object] = {
        "task_name": "add",
        "args": [1, 2],
        "submitted_at": utcnow(),
        "queue": "default",
    }
    values.update(fields)
    return TaskResult.objects.create(task_id=task_id, status=status, **values)


def test_the_changelist_filters_and_searches(staff: Client) -> None:
    make_result("ok-1", result=3)
    make_result("bad-1", "failed", task_name="fail", args=["disk full"], error="disk full")
    make_result("old-1", submitted_at=utcnow() - dt.timedelta(days=30))
    page = staff.get(RESULTS)
    assert page.status_code == 200
    assert {r.task_id for r in page.context["cl"].result_list} == {"ok-1", "bad-1", "old-1"}
    content = page.content.decode()

    def shown(**query: str) -> set[str]:
        response = staff.get(RESULTS, query)
        assert response.status_code == 200
        return {r.task_id for r in response.context["cl"].result_list}

    assert shown(status__exact="failed") == {"bad-1"}
    assert shown(task_name="fail") == {"bad-1"}
    assert shown(queue="default") == {"ok-1", "bad-1", "old-1"}
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    assert shown(submitted_at__gte=str(today)) == {"ok-1", "bad-1"}
    assert shown(q="disk") == {"bad-1"}
    assert shown(q="ok-1") == {"ok-1"}
    uuid_like = make_result("0f1e2d3c-4b5a-4697-8899-aabbccddeeff").task_id
    with CaptureQueriesContext(connection) as queries:
        assert shown(q=f" {uuid_like} ") == {uuid_like}
    assert not any("LIKE" in q["sql"].upper() for q in queries)
    for choice in (f"{TASKS}add", f"{TASKS}fail", f"{TASKS}flaky", "Failed", "Revoked"):
        assert f">{choice}<" in content


def test_the_changelist_never_counts_the_whole_table(staff: Client) -> None:
    for i in range(3):
        make_result(f"r{i}")
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(RESULTS).status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert all("LIMIT" in sql.upper() for sql in counts), counts
    assert not any("DISTINCT" in q["sql"].upper() for q in queries)


def test_bad_query_parameters_are_not_a_server_error(staff: Client) -> None:
    for query in ({"p": "zzz"}, {"submitted_at__gte": "yesterday"}, {"o": "x"}):
        assert staff.get(RESULTS, query).status_code in (200, 302)


def test_the_detail_page_shows_pretty_json_and_the_traceback(staff: Client) -> None:
    row = make_result(
        "bad-2",
        "failed",
        kwargs={"path": "/tmp/x", "tries": [1, 2]},
        error="boom",
        error_type="ValueError",
        traceback='Traceback (most recent call last):\n  File "x.py"\nValueError: boom',
        runtime=0.0123,
    )
    page = staff.get(reverse("admin:flowrra_django_taskresult_change", args=[row.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "{\n  &quot;path&quot;: &quot;/tmp/x&quot;," in html
    assert "Traceback (most recent call last):\n  File &quot;x.py&quot;" in html
    assert "12.3 ms" in html
    assert 'name="_save"' not in html  # read-only


def test_retry_selected_submits_the_same_arguments_linked_to_the_original(staff: Client) -> None:
    original = make_result("bad-3", "failed", args=[20, 22], queue="urgent", priority=5)
    response = staff.post(
        RESULTS, {"action": "retry_selected", "_selected_action": [original.pk]}, follow=True
    )
    assert "Submitted 1 task again." in response.content.decode()
    again = TaskResult.objects.get(retry_of=original)
    assert (again.task_name, again.args, again.status) == (f"{TASKS}add", [20, 22], "pending")
    message = QueuedMessage.objects.get(task_id=again.task_id)
    assert (message.queue, message.priority) == ("urgent", 5)


def test_revoke_selected_stops_only_what_has_not_started(staff: Client) -> None:
    waiting = flowrra_django.submit(tasks.add, 1, 1)
    done = make_result("done-1")
    pks = [TaskResult.objects.get(task_id=waiting).pk, done.pk]
    response = staff.post(
        RESULTS, {"action": "revoke_selected", "_selected_action": pks}, follow=True
    )
    text = response.content.decode()
    assert "Revoked 1 task." in text
    assert "1 task had already started or finished; not revoked." in text
    assert TaskResult.objects.get(task_id=waiting).status == "revoked"
    assert not QueuedMessage.objects.exists()


def test_a_user_without_the_change_permission_gets_no_actions() -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_taskresult"))
    client = Client()
    client.force_login(viewer)
    make_result("r1")
    page = client.get(RESULTS)
    assert page.status_code == 200
    assert "retry_selected" not in page.content.decode()


def schedule_form(**changes: str) -> dict[str, str]:
    data = {
        "name": "nightly add",
        "task_name": "add",
        "description": "",
        "enabled": "on",
        "schedule_type": "cron",
        "schedule": "30 2 * * *",
        "timezone": "",
        "missed_policy": "run_once",
        "args": "[1, 2]",
        "kwargs": "{}",
        "queue": "default",
        "priority": "0",
        "max_retries": "3",
        "retry_delay": "1.0",
    }
    data.update(changes)
    return data


def test_a_valid_schedule_is_saved_from_the_admin(staff: Client) -> None:
    response = staff.post(reverse("admin:flowrra_django_scheduledtask_add"), schedule_form())
    assert response.status_code == 302
    saved = ScheduledTask.objects.get()
    assert (saved.task_name, saved.args, saved.schedule) == (f"{TASKS}add", [1, 2], "30 2 * * *")


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"schedule": "61 * * * *"}, "schedule", "the minute field &#x27;61&#x27; is not valid"),
        ({"schedule": "* * *"}, "schedule", "give exactly five"),
        ({"schedule_type": "interval", "schedule": "0"}, "schedule", "&gt; 0"),
        ({"task_name": "nope"}, "task_name", "No task named &#x27;nope&#x27; is registered"),
        ({"args": "[1, 2"}, "args", "Enter a valid JSON."),
        ({"args": '{"a": 1}'}, "args", "Enter a JSON list"),
        ({"kwargs": "not json"}, "kwargs", "Enter a valid JSON."),
    ],
)
def test_the_schedule_form_rejects_bad_input_with_field_errors(
    staff: Client, changes: dict[str, str], field: str, fragment: str
) -> None:
    response = staff.post(
        reverse("admin:flowrra_django_scheduledtask_add"), schedule_form(**changes)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert fragment in str(errors[field]), errors[field]
    assert not ScheduledTask.objects.exists()


def test_enable_and_disable_actions(staff: Client) -> None:
    on = ScheduledTask.objects.create(
        name="on", task_name="add", schedule_type="interval", schedule="60",
        next_run_at=utcnow(),
    )  # fmt: skip
    off = ScheduledTask.objects.create(
        name="off", task_name="add", schedule_type="interval", schedule="60", enabled=False
    )
    staff.post(SCHEDULES, {"action": "disable_selected", "_selected_action": [on.pk]})
    staff.post(SCHEDULES, {"action": "enable_selected", "_selected_action": [off.pk]})
    on.refresh_from_db()
    off.refresh_from_db()
    assert (on.enabled, off.enabled) == (False, True)
    assert off.next_run_at is None  # beat plans it afresh


def test_editing_the_schedule_makes_beat_plan_it_afresh(staff: Client) -> None:
    task = ScheduledTask.objects.create(
        name="nightly add", task_name="add", schedule_type="cron", schedule="30 2 * * *",
        args=[1, 2], next_run_at=utcnow(),
    )  # fmt: skip
    url = reverse("admin:flowrra_django_scheduledtask_change", args=[task.pk])
    assert staff.post(url, schedule_form(schedule="0 3 * * *")).status_code == 302
    task.refresh_from_db()
    assert (task.schedule, task.next_run_at) == ("0 3 * * *", None)
