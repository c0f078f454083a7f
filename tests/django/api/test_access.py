"""Who may call which endpoint: every endpoint against anonymous users, users who are not
staff, a bearer token, staff without the permission, and staff with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat

from .conftest import TOKEN, TokenClient

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "tests.django.testapp.tasks.add"
READS = [
    "/flowrra/api/tasks/",
    "/flowrra/api/tasks/t-1/",
    "/flowrra/api/task-types/",
    "/flowrra/api/schedules/",
    "/flowrra/api/schedules/SCHEDULE/",
    "/flowrra/api/workers/",
    "/flowrra/api/workers/box:42:beef/",
    "/flowrra/api/queues/",
    "/flowrra/api/stats/",
    "/flowrra/api/openapi.json",
    "/flowrra/metrics",
]
WRITES: list[tuple[str, str, Any]] = [
    ("post", "/flowrra/api/tasks/", {"task": ADD, "args": [1, 2]}),
    ("post", "/flowrra/api/tasks/t-1/retry/", None),
    ("post", "/flowrra/api/tasks/t-1/revoke/", None),
    (
        "post",
        "/flowrra/api/schedules/",
        {"task_name": ADD, "schedule_type": "interval", "schedule": "60", "args": [1, 2]},
    ),
    ("patch", "/flowrra/api/schedules/SCHEDULE/", {"description": "changed"}),
    (
        "put",
        "/flowrra/api/schedules/SCHEDULE/",
        {"task_name": ADD, "schedule_type": "cron", "schedule": "0 5 * * *", "args": [5, 6]},
    ),
    ("post", "/flowrra/api/schedules/SCHEDULE/disable/", None),
    ("post", "/flowrra/api/schedules/SCHEDULE/enable/", None),
    ("post", "/flowrra/api/schedules/SCHEDULE/run/", None),
    ("delete", "/flowrra/api/schedules/SCHEDULE/", None),
]


@pytest.fixture
def world(
    make_result: Callable[..., TaskResult], schedule: ScheduledTask, heartbeat: WorkerHeartbeat
) -> Callable[[str], str]:
    make_result("t-1", "pending", task_name=ADD)
    return lambda url: url.replace("SCHEDULE", str(schedule.pk))


def _send(client: Client, method: str, url: str, body: Any) -> Any:
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=body, content_type="application/json")


def _state() -> tuple[object, ...]:
    return (
        sorted(TaskResult.objects.values_list("task_id", "status")),
        sorted(ScheduledTask.objects.values_list("pk", "enabled", "schedule", "description")),
    )


def test_anonymous_callers_get_a_json_401(anonymous: Client, world: Callable[[str], str]) -> None:
    before = _state()
    for method, url in [("get", u) for u in READS] + [(m, u) for m, u, _ in WRITES]:
        response = _send(anonymous, method, world(url), None)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Bearer realm="flowrra"'
        assert response.json()["status"] == 401
    assert _state() == before


def test_an_unknown_or_malformed_token_is_a_401(world: Callable[[str], str], token: Client) -> None:
    for header in ("Bearer wrong-token-0123456789abcdefghij", "Basic abc", "Bearer "):
        client = Client(HTTP_AUTHORIZATION=header)
        for url in READS:
            assert client.get(world(url)).status_code == 401, (header, url)


def test_users_who_are_not_staff_get_a_403(member: Client, world: Callable[[str], str]) -> None:
    before = _state()
    for method, url, body in [("get", u, None) for u in READS] + WRITES:
        response = _send(member, method, world(url), body)
        assert response.status_code == 403, url
        assert "staff" in response.json()["error"]
    assert _state() == before


def test_a_token_of_a_user_who_is_not_staff_gets_a_403(settings: Any, world: Any) -> None:
    User.objects.create_user("outsider")
    settings.FLOWRRA = {**settings.FLOWRRA, "API_TOKENS": {TOKEN: "outsider"}}
    assert TokenClient(TOKEN).get(world(READS[0])).status_code == 403


def test_staff_without_the_permission_may_read_but_not_act(
    viewer: Client, world: Callable[[str], str]
) -> None:
    for url in READS:
        assert viewer.get(world(url)).status_code == 200, url
    before = _state()
    for method, url, body in WRITES:
        response = _send(viewer, method, world(url), body)
        assert response.status_code == 403, url
        assert "permission" in response.json()["error"]
    assert _state() == before


@pytest.mark.parametrize("kind", ["token", "operator"])
def test_a_token_and_staff_with_the_permissions_may_do_everything(
    kind: str, request: pytest.FixtureRequest, world: Callable[[str], str]
) -> None:
    client = request.getfixturevalue(kind)
    for url in READS:
        assert client.get(world(url)).status_code == 200, url
    for method, url, body in WRITES:
        response = _send(client, method, world(url), body)
        assert response.status_code in (200, 201), (url, response.content)


def test_session_writes_need_the_csrf_token_but_token_writes_do_not(
    world: Callable[[str], str], token: Client
) -> None:
    user = User.objects.create_user("strict", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = _state()
    for method, url, body in WRITES:
        response = _send(client, method, world(url), body)
        assert response.status_code == 403 and "CSRF" in response.json()["error"], url
    assert _state() == before
    assert client.get(world(READS[0])).status_code == 200
    strict_token = TokenClient(TOKEN, enforce_csrf_checks=True)
    response = _send(strict_token, "post", "/flowrra/api/tasks/", {"task": ADD, "args": [1, 2]})
    assert response.status_code == 201


def test_a_stricter_dashboard_permission_applies_to_the_api(
    viewer: Client, settings: Any, world: Callable[[str], str]
) -> None:
    settings.FLOWRRA = {
        **settings.FLOWRRA,
        "DASHBOARD_PERMISSION": "flowrra_django.view_taskresult",
    }
    response = viewer.get(world(READS[0]))
    assert response.status_code == 403 and "view_taskresult" in response.json()["error"]


def test_the_health_check_needs_no_login(anonymous: Client) -> None:
    response = anonymous.get("/flowrra/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("tokens", "problem"),
    [
        ({"short": "robot"}, "at least 24 characters"),
        (["x" * 30], "a dict of tokens"),
        ({"y" * 30: ""}, "a dict of tokens"),
    ],
)
def test_malformed_api_tokens_are_reported_without_repeating_them(
    settings: Any, tokens: object, problem: str
) -> None:
    from django.core.checks import run_checks

    settings.FLOWRRA = {**settings.FLOWRRA, "API_TOKENS": tokens}
    errors = [e for e in run_checks() if e.id == "flowrra.E003"]
    assert len(errors) == 1 and problem in errors[0].msg
    assert (
        "short" not in errors[0].msg and "xxxx" not in errors[0].msg and "yyyy" not in errors[0].msg
    )


CONTROL = "/flowrra/api/workers/box:42:beef/control/"
PING = {"command": "ping", "timeout": 0.2}


def test_worker_control_needs_its_own_permission(
    anonymous: Client, member: Client, viewer: Client, world: Callable[[str], str]
) -> None:
    assert _send(anonymous, "post", CONTROL, PING).status_code == 401
    assert _send(member, "post", CONTROL, PING).status_code == 403
    assert _send(viewer, "post", CONTROL, PING).status_code == 403
    assert _send(viewer, "post", "/flowrra/api/tasks/t-1/terminate/", None).status_code == 403
    assert _send(anonymous, "post", "/flowrra/api/tasks/t-1/terminate/", None).status_code == 401
    user = User.objects.create_user("tasks-only", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="flowrra_django").exclude(
            codename="control_worker"
        )
    )
    client = Client()
    client.force_login(user)
    response = _send(client, "post", CONTROL, PING)
    assert response.status_code == 403 and "control_worker" in response.json()["error"]


@pytest.mark.parametrize("kind", ["token", "operator"])
def test_with_the_permission_the_command_is_sent(
    kind: str, request: pytest.FixtureRequest, world: Callable[[str], str]
) -> None:
    client = request.getfixturevalue(kind)
    response = _send(client, "post", CONTROL, PING)  # the heartbeat's worker never answers
    assert response.status_code == 504 and "did not reply" in response.json()["error"]


def test_the_worker_pages_control_needs_the_permission_and_says_what_went_wrong(
    viewer: Client, operator: Client, world: Callable[[str], str]
) -> None:
    from django.urls import reverse

    url = reverse("flowrra:worker-control", args=["box:42:beef"])
    assert viewer.post(url, {"command": "ping"}).status_code == 403
    shown = operator.post(url, {"command": "reboot"}, follow=True).content.decode()
    assert "Not sent: unknown command &#x27;reboot&#x27;" in shown
    from django.contrib.messages import get_messages

    gone = reverse("flowrra:worker-control", args=["nobody"])
    response = operator.post(gone, {"command": "ping"})
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == ["Not sent: no online worker 'nobody'."]
