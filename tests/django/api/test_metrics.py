"""``/flowrra/metrics``: parsed with prometheus-client's own parser."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from flowrra.task import utcnow
from flowrra_django.models import BeatPass, ScheduledTask, TaskResult, WorkerHeartbeat
from tests.django.dashboard.test_redis_queues import redis_space  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "tests.django.testapp.tasks.add"


def scrape(client: Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample's value by name and labels."""
    response = client.get("/flowrra/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_tasks_by_name_and_status_and_runtimes_cover_the_recent_window(
    token: Client, make_result: Callable[..., TaskResult]
) -> None:
    now = utcnow()
    make_result("a1", "success", task_name="mail", runtime=0.02, finished_at=now)
    make_result("a2", "success", task_name="mail", runtime=3.0, finished_at=now)
    make_result("a3", "failed", task_name="mail", runtime=0.3, finished_at=now)
    make_result("b1", "pending", task_name="report")
    old = now - dt.timedelta(hours=2)
    make_result("o1", "success", task_name="mail", submitted_at=old, finished_at=old, runtime=9)
    samples = scrape(token)
    tasks = samples["flowrra_tasks"]
    assert tasks[(("status", "success"), ("task_name", "mail"))] == 2
    assert tasks[(("status", "failed"), ("task_name", "mail"))] == 1
    assert tasks[(("status", "pending"), ("task_name", "report"))] == 1
    assert tasks[(("status", "running"), ("task_name", "report"))] == 0
    buckets = samples["flowrra_task_runtime_seconds_bucket"]
    assert buckets[(("le", "0.025"),)] == 1
    assert buckets[(("le", "0.5"),)] == 2
    assert buckets[(("le", "5"),)] == 3 and buckets[(("le", "+Inf"),)] == 3
    assert samples["flowrra_task_runtime_seconds_gsum"][()] == pytest.approx(3.32)
    assert samples["flowrra_metrics_window_seconds"][()] == 300


def test_queues_workers_and_the_scheduler(
    token: Client, heartbeat: WorkerHeartbeat, schedule: ScheduledTask
) -> None:
    for priority in (0, 0, 5):
        body = {"task": ADD, "args": [1, 2], "priority": priority, "queue": "bulk"}
        assert (
            token.post("/flowrra/api/tasks/", body, content_type="application/json").status_code
            == 201
        )
    ScheduledTask.objects.filter(pk=schedule.pk).update(
        next_run_at=utcnow() - dt.timedelta(minutes=2)
    )
    BeatPass.objects.create(beat="box:1", last_pass_at=utcnow() - dt.timedelta(seconds=3))
    samples = scrape(token)
    messages = samples["flowrra_queue_messages"]
    assert messages[(("priority", "0"), ("queue", "bulk"), ("state", "ready"))] == 2
    assert messages[(("priority", "5"), ("queue", "bulk"), ("state", "ready"))] == 1
    assert samples["flowrra_workers_online"][()] == 1
    worker_tasks = samples["flowrra_worker_tasks_total"]
    assert worker_tasks[(("outcome", "succeeded"), ("worker", "box:42:beef"))] == 11
    assert 115 < samples["flowrra_scheduler_lateness_seconds"][()] < 200
    assert time.time() - samples["flowrra_beat_last_pass_timestamp_seconds"][()] < 60
    assert "flowrra_dead_letters" not in samples  # the django:// broker has none yet


@pytest.mark.redis
def test_dead_letters_per_queue_on_a_broker_that_keeps_them(
    token: Client,
    redis_space: tuple[Any, str],  # noqa: F811
) -> None:
    client, prefix = redis_space
    for number, queue in enumerate(("default", "default", "mail"), start=1):
        letter = {
            "reason": "no such task",
            "queue": queue,
            "priority": 0,
            "at": time.time(),
            "message": "{}",
        }
        client.hset(f"{prefix}:dead:items", number, json.dumps(letter))
        client.zadd(f"{prefix}:dead:ids", {number: number})
    dead = scrape(token)["flowrra_dead_letters"]
    assert dead == {(("queue", "default"),): 2, (("queue", "mail"),): 1}


def test_anonymous_and_non_staff_scrapers_are_refused(anonymous: Client, member: Client) -> None:
    assert anonymous.get("/flowrra/metrics").status_code == 401
    assert member.get("/flowrra/metrics").status_code == 403
