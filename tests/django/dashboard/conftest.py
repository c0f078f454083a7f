"""Users of each kind, and stored results, for the dashboard's view tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from flowrra.task import utcnow
from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous() -> Client:
    return Client()


@pytest.fixture
def member() -> Client:
    """Logged in, not staff."""
    return _client(User.objects.create_user("member", password="pw"))


@pytest.fixture
def viewer() -> Client:
    """Staff without any Flowrra permission: may look, may not act."""
    return _client(User.objects.create_user("viewer", password="pw", is_staff=True))


@pytest.fixture
def operator() -> Client:
    """Staff with every Flowrra permission."""
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    return _client(user)


@pytest.fixture
def make_result() -> Callable[..., TaskResult]:
    def make(task_id: str, status: str = "success", **fields: Any) -> TaskResult:
        values: dict[str, Any] = {
            "task_name": "add",
            "args": [1, 2],
            "submitted_at": utcnow() - dt.timedelta(seconds=30),
            "queue": "default",
        }
        values.update(fields)
        return TaskResult.objects.create(task_id=task_id, status=status, **values)

    return make


@pytest.fixture
def schedule() -> ScheduledTask:
    return ScheduledTask.objects.create(
        name="nightly add",
        task_name="add",
        schedule_type="cron",
        schedule="0 3 * * *",
        args=[1, 2],
        next_run_at=utcnow() + dt.timedelta(hours=3),
    )


@pytest.fixture
def heartbeat() -> WorkerHeartbeat:
    now = utcnow()
    info = {
        "id": "box:42:beef",
        "hostname": "box",
        "pid": 42,
        "queues": ["default", "mail"],
        "concurrency": {"io": 4, "cpu": 1},
        "processed": 12,
        "succeeded": 11,
        "failed": 1,
        "retried": 0,
        "active": [],
        "started_at": time.time() - 600,
        "last_heartbeat": time.time(),
    }
    return WorkerHeartbeat.objects.create(
        worker_id=info["id"], info=info, last_seen=now, expires_at=now + dt.timedelta(minutes=5)
    )
