"""Clients of each kind for the API tests: the dashboard's users, and a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.django.dashboard.conftest import (  # noqa: F401  (fixtures)
    anonymous,
    heartbeat,
    make_result,
    member,
    operator,
    schedule,
    viewer,
)

TOKEN = "test-token-0123456789abcdefghijklmnop"


class TokenClient(Client):
    """A client that sends ``Authorization: Bearer <token>`` and no session."""

    def __init__(self, token: str, **defaults: Any) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **defaults)


@pytest.fixture
def token(settings: Any) -> Client:
    """A bearer token of a staff user with every Flowrra permission (no CSRF token needed)."""
    user = User.objects.create_user("robot", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    settings.FLOWRRA = {**settings.FLOWRRA, "API_TOKENS": {TOKEN: "robot"}}
    return TokenClient(TOKEN)


@pytest.fixture
def send() -> Callable[..., Any]:
    """``send(client, method, url, json_body)``: the response, its body decoded."""

    def call(client: Client, method: str, url: str, body: Any = None) -> Any:
        handler = getattr(client, method.lower())
        if body is None:
            return handler(url)
        return handler(url, data=body, content_type="application/json")

    return call
