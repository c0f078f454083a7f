"""The queues page on the Redis broker, which keeps dead letters: listed escaped, requeued,
deleted."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from flowrra import Task
from flowrra_django import runtime
from tests.services import unavailable

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REDIS_URL = (
    urlsplit(os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11"))
    ._replace(path="/14")
    .geturl()
)


@pytest.fixture
def redis_space() -> Iterator[tuple[object, str]]:
    """A key prefix of this test's own on the test Redis; its keys are deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start it")
    prefix = f"dash{secrets.token_hex(4)}"
    runtime.shutdown()
    with override_settings(
        FLOWRRA={**settings.FLOWRRA, "BROKER_URL": f"{REDIS_URL}?key_prefix={prefix}"}
    ):
        yield client, prefix
        runtime.shutdown()
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_dead_letters_are_shown_escaped_and_can_be_requeued_or_deleted(
    operator: Client, redis_space: tuple[object, str]
) -> None:
    client, prefix = redis_space
    message = Task("dead-1", "add", (1, 2), {}).to_message()
    hostile = {"id": "dead-2", "name": "<script>x</script>", "args": ["https://u:pw@h/"]}
    for number, (payload, reason) in enumerate(
        ((message, "no task named 'add'"), (hostile, "<b>bad</b>")), start=1
    ):
        letter = {
            "id": number,
            "reason": reason,
            "queue": "default",
            "priority": 0,
            "at": time.time(),
            "message": json.dumps(payload),
            "truncated": False,
        }
        client.hset(f"{prefix}:dead:items", number, json.dumps(letter))  # type: ignore[attr-defined]
        client.zadd(f"{prefix}:dead:ids", {number: number})  # type: ignore[attr-defined]
    page = operator.get(reverse("flowrra:queues"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in text and "<script>x" not in text
    assert "&lt;b&gt;bad&lt;/b&gt;" in text and "u:***@h" in text and "u:pw@" not in text
    letters = {letter.message.count("dead-1"): letter for letter in page.context["dead_letters"]}
    requeue = reverse("flowrra:dead-requeue", args=[letters[1].id])
    assert "Requeued" in str(list(operator.post(requeue, follow=True).context["messages"])[-1])
    assert client.llen(f"{prefix}:q:default:0") == 1  # type: ignore[attr-defined]
    delete = reverse("flowrra:dead-delete", args=[letters[0].id])
    operator.post(delete)
    assert client.zcard(f"{prefix}:dead:ids") == 0  # type: ignore[attr-defined]
