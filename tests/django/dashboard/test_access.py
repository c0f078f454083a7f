"""Who sees which page and who may act: every page and action against every kind of user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse

from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    ("overview", ()),
    ("tasks", ()),
    ("task", ("t-1",)),
    ("workers", ()),
    ("worker", ("box:42:beef",)),
    ("queues", ()),
    ("schedules", ()),
    ("schedule-preview", ()),
]
FORMS = [("schedule-add", ()), ("schedule", ("SCHEDULE",))]
ACTIONS = [
    ("task-retry", ("t-1",)),
    ("task-revoke", ("t-1",)),
    ("schedule-enable", ("SCHEDULE",)),
    ("schedule-disable", ("SCHEDULE",)),
    ("schedule-delete", ("SCHEDULE",)),
    ("schedule-run", ("SCHEDULE",)),
    ("dead-requeue", ("abc",)),
    ("dead-delete", ("abc",)),
]


@pytest.fixture
def world(
    make_result: Callable[..., TaskResult], schedule: ScheduledTask, heartbeat: WorkerHeartbeat
) -> Callable[[str, tuple[str, ...]], str]:
    make_result("t-1", "pending")

    def url(name: str, args: tuple[str, ...]) -> str:
        return reverse(
            f"flowrra:{name}", args=[str(schedule.pk) if a == "SCHEDULE" else a for a in args]
        )

    return url


def _state() -> tuple[object, ...]:
    return (
        sorted(TaskResult.objects.values_list("task_id", "status")),
        sorted(ScheduledTask.objects.values_list("pk", "enabled", "schedule")),
    )


@pytest.mark.parametrize(("name", "args"), PAGES + FORMS + ACTIONS)
def test_anonymous_users_go_to_the_admin_login(anonymous: Client, world, name, args) -> None:
    url = world(name, args)
    before = _state()
    response = anonymous.post(url) if (name, args) in ACTIONS else anonymous.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")
    assert _state() == before


@pytest.mark.parametrize(("name", "args"), PAGES + FORMS + ACTIONS)
def test_users_who_are_not_staff_are_refused(member: Client, world, name, args) -> None:
    url = world(name, args)
    before = _state()
    response = member.post(url) if (name, args) in ACTIONS else member.get(url)
    assert response.status_code == 403
    assert b"box" not in response.content and b"nightly" not in response.content
    assert _state() == before


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_staff_see_every_page(viewer: Client, world, name, args) -> None:
    response = viewer.get(world(name, args))
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "args"), FORMS + ACTIONS)
def test_staff_without_the_permission_cannot_act(viewer: Client, world, name, args) -> None:
    url = world(name, args)
    before = _state()
    response = viewer.post(
        url, {"task_name": "add", "schedule_type": "cron", "schedule": "1 * * * *"}
    )
    assert response.status_code == 403
    assert _state() == before
    if (name, args) in FORMS:
        assert viewer.get(url).status_code == 403


@pytest.mark.parametrize(("name", "args"), ACTIONS)
def test_actions_are_posts_only(operator: Client, world, name, args) -> None:
    assert operator.get(world(name, args)).status_code == 405


def test_actions_need_the_csrf_token(world) -> None:
    user = User.objects.create_user("strict", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = _state()
    for name, args in ACTIONS:
        assert client.post(world(name, args)).status_code == 403
    assert _state() == before


def test_a_stricter_dashboard_permission_can_be_required(
    viewer: Client, operator: Client, world
) -> None:
    strict = {"DASHBOARD_PERMISSION": "flowrra_django.view_taskresult"}
    with override_settings(FLOWRRA=strict):
        assert viewer.get(world("overview", ())).status_code == 403
        assert operator.get(world("overview", ())).status_code == 200


@pytest.mark.parametrize("value", ["nodot", 5, "a.b.c", ".x"])
def test_a_malformed_dashboard_permission_is_reported_at_start_up(value: object) -> None:
    from flowrra_django.conf import find_problems

    [problem] = find_problems({"DASHBOARD_PERMISSION": value})
    assert problem.id == "flowrra.E003"
    assert "DASHBOARD_PERMISSION" in problem.message and "a permission name" in problem.message


def test_get_urls_gives_the_same_patterns_as_the_urlconf() -> None:
    from flowrra.ui.django import get_urls
    from flowrra_django import urls

    assert [p.name for p in get_urls()] == [p.name for p in urls.urlpatterns]
    assert urls.app_name == "flowrra"
