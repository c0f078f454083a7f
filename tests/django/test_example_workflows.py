"""The example site's workflows: a chain of tasks that submit their follow-ups, the
activity report and its cron schedule (made by the shop's data migration), and the page's
default URL for check_url (a page of the site itself)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.django.test_example_project import example_env, manage, pytestmark

__all__ = ["pytestmark"]

SUBMIT = """
import flowrra_django
from django.contrib.auth.models import User
from django.test import Client
from example_project.shop import tasks
User.objects.create_user("olga", "olga@example.com", "pw", is_staff=True)
client = Client()
client.login(username="olga", password="pw")
client.post("/shop/", {"task": "place_order", "count": "1"})
client.post("/shop/", {"task": "check_url", "url": "", "count": "1"})
flowrra_django.submit(tasks.place_order, 5, {"apples": 1, "kiwis": 2})
"""

REPORT = """
import json
from flowrra_django.models import ScheduledTask, TaskResult
schedule = ScheduledTask.objects.get()
schedule.full_clean()  # a valid cron expression, a registered task
rows = [
    {"task": r.task_name.rsplit(".", 1)[-1], "status": r.status, "args": r.args,
     "result": r.result, "error": r.error}
    for r in TaskResult.objects.order_by("submitted_at", "id")
]
print(json.dumps({
    "schedule": [schedule.name, schedule.task_name, schedule.schedule_type, schedule.schedule,
                 schedule.kwargs, schedule.enabled],
    "results": rows,
}))
"""


def test_a_chain_submits_its_follow_ups_and_the_report_is_scheduled(tmp_path: Path) -> None:
    env = example_env(tmp_path)
    manage(env, "migrate", "-v", "0")
    manage(env, "shell", "-c", SUBMIT)
    manage(env, "shell", "-c", "import flowrra_django\nflowrra_django.submit('activity_report')")
    # place_order x2, pack_order, ship_order, check_url (its URL is not served here), report
    manage(env, "flowrra_worker", "--max-tasks", "6", "--loglevel", "WARNING")
    report = json.loads(manage(env, "shell", "-c", REPORT).strip().splitlines()[-1])

    assert report["schedule"] == [
        "Activity report (every 5 minutes)",
        "example_project.shop.tasks.activity_report",
        "cron",
        "*/5 * * * *",
        {"hours": 1},
        True,
    ]
    by_task: dict[str, list[dict]] = {}
    for row in report["results"]:
        by_task.setdefault(row["task"], []).append(row)

    placed, refused = by_task["place_order"]
    order = placed["args"][0]
    assert placed["status"] == "success"
    assert placed["result"]["total"] == 12 * 0.5 + 5 * 0.75
    (packed,) = by_task["pack_order"]
    assert packed["status"] == "success" and packed["args"] == [order, 17]
    assert packed["result"]["boxes"] == 2
    (shipped,) = by_task["ship_order"]
    assert shipped["status"] == "success"
    assert shipped["result"] == {"order": order, "boxes": 2, "tracking": f"FL{order:08d}"}
    assert refused["status"] == "failed" and "not sold here: kiwis" in refused["error"]

    (fetched,) = by_task["check_url"]
    assert fetched["args"] == ["http://testserver/"]  # the site's own first page

    (activity,) = by_task["activity_report"]
    assert activity["status"] == "success"
    assert activity["result"]["hours"] == 1
    assert activity["result"]["tasks"]["place_order"] == 2
    # submitted before it: both orders, check_url and itself; follow-ups may come later
    assert 4 <= activity["result"]["total"] <= len(report["results"])
    assert sum(activity["result"]["status"].values()) == activity["result"]["total"]
