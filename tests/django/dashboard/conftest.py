"""Users of each kind, and stored results, for the dashboard's view tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from flowrra.task import utcnow
from flowrra_django.models import TaskResult


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
