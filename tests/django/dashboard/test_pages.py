"""What staff see on each page, and what hostile query strings get (never a 500)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from flowrra.task import utcnow
from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)
MakeResult = Callable[..., TaskResult]


def text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content[:2000]
    return response.content.decode()


def test_the_overview_counts_charts_and_links(
    viewer: Client, make_result: MakeResult, schedule: ScheduledTask, heartbeat: WorkerHeartbeat
) -> None:
    finished = utcnow() - dt.timedelta(minutes=2)
    make_result("ok-1", finished_at=finished, result=3)
    make_result("bad-1", "failed", finished_at=finished, error="disk full", worker="box:42:beef")
    page = text(viewer.get(reverse("flowrra:overview")))
    assert '<svg class="flowrra-chart"' in page
    assert "1 succeeded, 1 failed" in page  # the tooltip of the minute both finished in
    assert reverse("flowrra:task", args=["bad-1"]) in page
    assert reverse("flowrra:worker", args=["box:42:beef"]) in page
    assert reverse("flowrra:schedule", args=[schedule.pk]) in page
    assert "Workers online: 1" in page and "nightly add" in page


def test_the_task_list_filters_searches_and_pages(viewer: Client, make_result: MakeResult) -> None:
    now = utcnow()
    for n in range(7):
        make_result(f"ok-{n}", submitted_at=now - dt.timedelta(minutes=n), queue="mail")
    make_result("bad-1", "failed", task_name="fail", error="Disk Full", worker="box:42:beef")
    make_result("old-1", submitted_at=now - dt.timedelta(days=3))
    tasks = reverse("flowrra:tasks")

    def shown(**query: str) -> list[str]:
        response = viewer.get(tasks, query)
        assert response.status_code == 200
        return [t.task_id for t in response.context["tasks"]]

    assert shown(status="failed") == ["bad-1"]
    assert shown(task="fail") == ["bad-1"]
    assert shown(worker="box:42:beef") == ["bad-1"]
    assert shown(q="disk full") == ["bad-1"]
    assert shown(q="old-1") == ["old-1"]
    assert "old-1" not in shown(range="24h")
    assert shown(sort="oldest", per_page="1") == ["old-1"]
    first = viewer.get(tasks, {"queue": "mail", "per_page": "3"})
    assert [t.task_id for t in first.context["tasks"]] == ["ok-0", "ok-1", "ok-2"]
    older = viewer.get(f"{tasks}?{first.context['next_page_query']}")
    assert [t.task_id for t in older.context["tasks"]] == ["ok-3", "ok-4", "ok-5"]
    assert "queue=mail" in first.context["next_page_query"]


@pytest.mark.parametrize(
    "query",
    [
        "status=exploded",
        "from=yesterday",
        "to=2030-02-31T10:00",
        "per_page=-1",
        "per_page=99999999999999999999",
        "after=%27%3B+DROP+TABLE",
        "after=WyIyMDMwLTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwieCJd",
        "sort=random()",
        "range=forever",
        "q=" + "x" * 5000,
        "q=%00",
        "task=" + "t" * 500,
    ],
)
def test_hostile_query_strings_get_a_400_page(viewer: Client, query: str) -> None:
    response = viewer.get(f"{reverse('flowrra:tasks')}?{query}")
    assert response.status_code == 400
    assert "errornote" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    ["q=%25", "q=_", "q=%5C", "q=%27+OR+1%3D1", "worker=%27", "status=failed&status=failed"],
)
def test_odd_but_valid_queries_get_an_empty_page(
    viewer: Client, make_result: MakeResult, query
) -> None:
    make_result("ok-1")
    response = viewer.get(f"{reverse('flowrra:tasks')}?{query}")
    assert response.status_code == 200
    assert response.context["tasks"] == []


def test_a_task_page_escapes_masks_and_cuts(viewer: Client, make_result: MakeResult) -> None:
    original = make_result("first", "failed")
    make_result(
        "evil",
        "failed",
        args=["<script>alert(1)</script>", "https://bob:hunter2@example.com/"],
        result="y" * 10_000,
        error="<img src=x onerror=alert(1)>",
        error_type="ValueError",
        traceback="Traceback (most recent call last):\n  File <b>\nValueError: boom",
        retry_of=original,
        worker="box:42:beef",
    )
    page = text(viewer.get(reverse("flowrra:task", args=["evil"])))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "hunter2" not in page and "bob:***@example.com" in page
    assert "Traceback (most recent call last)" in page and "File &lt;b&gt;" in page
    assert "y" * 4_100 not in page and "Show all" in page
    assert reverse("flowrra:task", args=["first"]) in page
    assert reverse("flowrra:worker", args=["box:42:beef"]) in page
    full = text(viewer.get(reverse("flowrra:task", args=["evil"]), {"full": "1"}))
    assert "y" * 10_000 in full
    retried_from = text(viewer.get(reverse("flowrra:task", args=["first"])))
    assert reverse("flowrra:task", args=["evil"]) in retried_from
    assert viewer.get(reverse("flowrra:task", args=["nope"])).status_code == 404


def test_workers_show_online_then_offline(viewer: Client, heartbeat: WorkerHeartbeat) -> None:
    page = text(viewer.get(reverse("flowrra:workers")))
    assert "box:42:beef" in page and "1 online of 1" in page
    WorkerHeartbeat.objects.update(expires_at=utcnow() - dt.timedelta(minutes=1))
    page = text(viewer.get(reverse("flowrra:workers")))
    assert "0 online of 1" in page and "offline" in page
    detail = text(viewer.get(reverse("flowrra:worker", args=["box:42:beef"])))
    assert "offline: no heartbeat since" in detail
    WorkerHeartbeat.objects.update(expires_at=utcnow() - dt.timedelta(hours=2))
    assert "box:42:beef" not in text(viewer.get(reverse("flowrra:workers")))
    assert viewer.get(reverse("flowrra:worker", args=["box:42:beef"])).status_code == 404


def test_queues_show_lengths_and_the_dead_letters_of_django_broker(operator: Client) -> None:
    import flowrra_django
    from flowrra import Task
    from flowrra_django.models import DeadLetter, QueuedMessage
    from tests.django.testapp import tasks

    flowrra_django.options(queue="mail", priority=7).submit(tasks.add, 1, 2)
    flowrra_django.options(countdown=600).submit(tasks.add, 1, 2)
    message = Task("dead-add", "add", (3, 4), {}).to_message()
    kept = DeadLetter.objects.create(
        task_id="dead-add",
        queue="default",
        reason="task 'add' was not registered then",
        message=json.dumps(message),
        created_at=utcnow(),
    )
    junk = DeadLetter.objects.create(
        queue="default", reason="malformed message: <b>junk</b>", message="[1]", created_at=utcnow()
    )
    page = text(operator.get(reverse("flowrra:queues")))
    assert "p7: 1" in page
    assert "not registered then" in page and "&lt;b&gt;junk&lt;/b&gt;" in page
    requeued = operator.post(reverse("flowrra:dead-requeue", args=[kept.pk]), follow=True)
    assert "Requeued the dead letter" in text(requeued)
    assert QueuedMessage.objects.filter(task_id="dead-add").exists()
    refused = operator.post(reverse("flowrra:dead-requeue", args=[junk.pk]), follow=True)
    assert "Not requeued" in text(refused)
    operator.post(reverse("flowrra:dead-delete", args=[junk.pk]))
    assert not DeadLetter.objects.exists()
    gone = operator.post(reverse("flowrra:dead-delete", args=["abc"]), follow=True)
    assert "gone already" in text(gone)


def test_schedules_list_and_the_form_previews_runs(
    operator: Client, schedule: ScheduledTask
) -> None:
    page = text(operator.get(reverse("flowrra:schedules")))
    assert "nightly add" in page and "cron: 0 3 * * *" in page
    form = text(operator.get(reverse("flowrra:schedule", args=[schedule.pk])))
    assert 'value="0 3 * * *"' in form and "Next 5 runs" in form
    preview = operator.get(
        reverse("flowrra:schedule-preview"),
        {"schedule_type": "cron", "schedule": "30 9 * * *", "timezone": "Asia/Tokyo"},
    )
    assert text(preview).count("09:30 JST") == 5
    bad = operator.get(reverse("flowrra:schedule-preview"), {"schedule": "<b>nope</b>"})
    assert "&lt;b&gt;nope&lt;/b&gt;" in text(bad)


def test_times_show_in_the_active_time_zone_with_relative_times(
    viewer: Client, make_result: MakeResult
) -> None:
    from django.test import override_settings

    submitted = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    make_result("tz-1", submitted_at=submitted)
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        page = text(viewer.get(reverse("flowrra:task", args=["tz-1"])))
    assert "09:00:00" in page and "JST" in page
    assert " ago</span>" in page


def test_the_task_list_can_reload_itself_on_its_first_page(viewer: Client) -> None:
    live = text(viewer.get(reverse("flowrra:tasks"), {"live": "1"}))
    assert '<meta http-equiv="refresh" content="5">' in live
    assert '<meta http-equiv="refresh"' not in text(viewer.get(reverse("flowrra:tasks")))


def test_a_project_overrides_the_frame_of_every_page(
    viewer: Client, make_result: MakeResult, tmp_path: Path, settings: Any
) -> None:
    """The pages' markup is shared with the other frameworks' dashboards; the frame around
    it is the project's ``templates/flowrra_django/base.html`` when it has one."""
    frame = tmp_path / "flowrra_django" / "base.html"
    frame.parent.mkdir()
    frame.write_text(
        '{% extends "admin/base_site.html" %}{% block content %}<main class="house-frame">'
        "{% block content_title %}{% endblock %}{% block dashboard %}{% endblock %}</main>"
        "{% endblock %}"
    )
    make_result("bad-1", "failed", error="disk full")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    page = text(viewer.get(reverse("flowrra:task", args=["bad-1"])))
    framed = page.split('<main class="house-frame">', 1)[1]
    assert "disk full" in framed and 'class="fl-badge status-failed"' in framed
