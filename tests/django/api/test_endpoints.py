"""Every endpoint of the JSON API with a bearer token of a staff user with every
permission: what it returns and does, each response checked against the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from flowrra.task import utcnow
from flowrra.ui.openapi import document
from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat

from .schema import conforms

pytestmark = pytest.mark.django_db(transaction=True)

API = "/flowrra/api"
ADD = "tests.django.testapp.tasks.add"


class Recorder:
    """Sends requests with a client and checks each response against the document,
    remembering which operations it has seen."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: set[tuple[str, str]] = set()

    def __call__(
        self, method: str, template: str, body: Any = None, query: str = "", **params: str
    ) -> tuple[int, Any]:
        url = API + template.format(**params) + (f"?{query}" if query else "")
        send = getattr(self.client, method.lower())
        if body is None:
            response = send(url)
        else:
            response = send(url, data=json.dumps(body), content_type="application/json")
        self.seen.add((template, method.lower()))
        return response.status_code, conforms(response, template, method)


@pytest.fixture
def api(token: Client) -> Recorder:
    return Recorder(token)


def test_every_operation_of_the_document_answers_as_documented(
    api: Recorder,
    make_result: Callable[..., TaskResult],
    schedule: ScheduledTask,
    heartbeat: WorkerHeartbeat,
) -> None:
    make_result("t-1", "pending", task_name=ADD)
    make_result("t-2", "failed", task_name=ADD, error="boom", traceback="Traceback ...")
    sid = str(schedule.pk)
    assert api("GET", "/tasks/")[0] == 200
    assert api("GET", "/tasks/{task_id}/", task_id="t-2")[0] == 200
    status, submitted = api("POST", "/tasks/", {"task": ADD, "args": [1, 2]})
    assert status == 201 and TaskResult.objects.filter(task_id=submitted["task_id"]).exists()
    assert api("POST", "/tasks/{task_id}/retry/", task_id="t-2")[0] == 201
    assert api("POST", "/tasks/{task_id}/revoke/", task_id="t-1")[0] == 200
    status, refused = api("POST", "/tasks/{task_id}/terminate/", task_id="t-1")
    assert status == 409 and "not running" in refused["error"]
    assert api("GET", "/task-types/")[0] == 200
    assert api("GET", "/schedules/")[0] == 200
    status, created = api(
        "POST",
        "/schedules/",
        {"task_name": ADD, "schedule_type": "interval", "schedule": "60", "args": [1, 2]},
    )
    assert status == 201
    assert api("GET", "/schedules/{schedule_id}/", schedule_id=sid)[0] == 200
    put = {"task_name": ADD, "schedule_type": "cron", "schedule": "0 4 * * *", "args": [3, 4]}
    assert api("PUT", "/schedules/{schedule_id}/", put, schedule_id=sid)[0] == 200
    patch = {"description": "at four"}
    assert api("PATCH", "/schedules/{schedule_id}/", patch, schedule_id=sid)[0] == 200
    for action in ("disable", "enable"):
        assert api("POST", f"/schedules/{{schedule_id}}/{action}/", schedule_id=sid)[0] == 200
    assert api("POST", "/schedules/{schedule_id}/run/", schedule_id=sid)[0] == 201
    assert api("DELETE", "/schedules/{schedule_id}/", schedule_id=created["id"])[0] == 200
    assert api("GET", "/workers/")[0] == 200
    assert api("GET", "/workers/{worker_id}/", worker_id="box:42:beef")[0] == 200
    control = "/workers/{worker_id}/control/"
    ping = {"command": "ping", "timeout": 0.2}  # nobody runs the heartbeat's worker
    assert api("POST", control, ping, worker_id="box:42:beef")[0] == 504
    assert api("POST", control, ping, worker_id="nobody")[0] == 404
    assert api("GET", "/queues/")[0] == 200
    for action in ("requeue", "delete"):  # the django:// broker keeps no dead letters
        template = f"/queues/dead/{{letter_id}}/{action}/"
        assert api("POST", template, letter_id="abc")[0] == 404
    assert api("GET", "/stats/")[0] == 200
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert api.seen == documented


def test_the_task_list_filters_searches_and_pages_like_the_dashboard(
    api: Recorder, make_result: Callable[..., TaskResult]
) -> None:
    now = utcnow()
    for n in range(5):
        make_result(f"ok-{n}", "success", submitted_at=now - dt.timedelta(minutes=n))
    make_result("bad-1", "failed", error="disk full", submitted_at=now)
    status, page = api("GET", "/tasks/", query="status=success&per_page=2")
    assert status == 200
    assert [task["task_id"] for task in page["tasks"]] == ["ok-0", "ok-1"]
    seen = [task["task_id"] for task in page["tasks"]]
    while page["next_cursor"]:
        _, page = api(
            "GET", "/tasks/", query=f"status=success&per_page=2&after={page['next_cursor']}"
        )
        seen += [task["task_id"] for task in page["tasks"]]
    assert seen == [f"ok-{n}" for n in range(5)]
    _, found = api("GET", "/tasks/", query="q=disk")
    assert [task["task_id"] for task in found["tasks"]] == ["bad-1"]
    assert "traceback" not in found["tasks"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nope", "status"),
        ("per_page=0", "per_page"),
        ("per_page=x", "per_page"),
        ("from=yesterday", "from"),
        ("after=forged", "after"),
        ("range=2y", "range"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api: Recorder, query: str, field: str) -> None:
    status, body = api("GET", "/tasks/", query=query)
    assert status == 400 and field in body["fields"]


def test_a_submission_is_checked_field_by_field_and_bound_to_the_signature(
    api: Recorder,
) -> None:
    status, body = api(
        "POST",
        "/tasks/",
        {"task": "nope", "args": {}, "priority": "high", "countdown": -1, "extra": 1},
    )
    assert status == 400
    assert set(body["fields"]) == {"task", "args", "priority", "countdown", "extra"}
    status, body = api("POST", "/tasks/", {"task": ADD, "args": [1, 2, 3]})
    assert status == 400 and "cannot take these arguments" in body["fields"]["args"]
    status, body = api("POST", "/tasks/", {"task": ADD, "args": [1], "kwargs": {"c": 2}})
    assert status == 400 and "kwargs" in body["fields"]
    status, body = api("POST", "/tasks/", {"task": ADD, "args": [1, 2], "eta": "2030-01-01T00:00"})
    assert status == 400 and "offset" in body["fields"]["eta"]
    assert not TaskResult.objects.exists()


def test_a_submission_applies_its_options(api: Recorder) -> None:
    eta = (utcnow() + dt.timedelta(hours=1)).isoformat()
    body = {"task": ADD, "args": [1, 2], "queue": "bulk", "priority": 7, "eta": eta}
    status, submitted = api("POST", "/tasks/", body)
    assert status == 201
    _, detail = api("GET", "/tasks/{task_id}/", task_id=submitted["task_id"])
    task = detail["task"]
    assert (task["status"], task["queue"], task["priority"]) == ("pending", "bulk", 7)
    assert task["args"] == [1, 2] and detail["can_revoke"] is True


def test_missing_objects_are_404_and_state_conflicts_409(
    api: Recorder, make_result: Callable[..., TaskResult]
) -> None:
    make_result("done", "success")
    make_result("orphan", "failed", task_name="gone.task")
    assert api("GET", "/tasks/{task_id}/", task_id="nope")[0] == 404
    assert api("POST", "/tasks/{task_id}/revoke/", task_id="nope")[0] == 404
    assert api("POST", "/tasks/{task_id}/retry/", task_id="nope")[0] == 404
    status, body = api("POST", "/tasks/{task_id}/revoke/", task_id="done")
    assert status == 409 and "already started or finished" in body["error"]
    status, body = api("POST", "/tasks/{task_id}/retry/", task_id="orphan")
    assert status == 409 and "not a registered task" in body["error"]
    assert api("GET", "/schedules/{schedule_id}/", schedule_id="999")[0] == 404
    assert api("GET", "/workers/{worker_id}/", worker_id="nobody")[0] == 404


def test_schedule_errors_name_their_fields_and_a_taken_name_is_a_conflict(
    api: Recorder, schedule: ScheduledTask
) -> None:
    status, body = api(
        "POST",
        "/schedules/",
        {"task_name": "nope", "schedule_type": "cron", "schedule": "61 * * * *", "bogus": 1},
    )
    assert status == 400 and set(body["fields"]) == {"bogus"}
    status, body = api(
        "POST",
        "/schedules/",
        {"task_name": "nope", "schedule_type": "cron", "schedule": "61 * * * *"},
    )
    assert status == 400 and {"task_name", "schedule"} <= set(body["fields"])
    taken = {
        "name": "nightly add",
        "task_name": ADD,
        "schedule_type": "cron",
        "schedule": "0 1 * * *",
        "args": [1, 2],
    }
    status, body = api("POST", "/schedules/", taken)
    assert status == 409 and "name" in body["fields"]
    assert ScheduledTask.objects.count() == 1


def test_patch_changes_only_the_fields_given(api: Recorder, schedule: ScheduledTask) -> None:
    status, body = api(
        "PATCH", "/schedules/{schedule_id}/", {"enabled": False}, schedule_id=str(schedule.pk)
    )
    assert status == 200
    assert (body["enabled"], body["schedule"], body["args"]) == (False, "0 3 * * *", [1, 2])
    schedule.refresh_from_db()
    assert schedule.enabled is False and schedule.next_run_at is None


def test_a_body_that_is_not_json_or_too_large_is_refused(token: Client, settings: Any) -> None:
    settings.FLOWRRA = {**settings.FLOWRRA, "API_MAX_BODY": 2048}
    response = token.post(f"{API}/tasks/", data="{nope", content_type="application/json")
    assert response.status_code == 400 and "body" in response.json()["fields"]
    response = token.post(f"{API}/tasks/", data="[1]", content_type="application/json")
    assert response.status_code == 400
    big = json.dumps({"task": ADD, "args": ["x" * 4096]})
    response = token.post(f"{API}/tasks/", data=big, content_type="application/json")
    assert response.status_code == 413 and response.json()["status"] == 413
    assert not TaskResult.objects.exists()


def test_unknown_paths_and_methods_answer_in_json(token: Client) -> None:
    response = token.get(f"{API}/nothing/here/")
    assert response.status_code == 404 and response.json()["status"] == 404
    response = token.delete(f"{API}/tasks/")
    assert response.status_code == 405 and response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert response.json()["error"] == "DELETE is not allowed here."


def test_the_document_is_served_with_this_deployment_as_server(token: Client) -> None:
    body = token.get(f"{API}/openapi.json").json()
    assert body["openapi"] == "3.1.0" and body["servers"] == [
        {"url": "http://testserver/flowrra/api"}
    ]
    assert body["paths"] == json.loads(json.dumps(document()["paths"]))
