"""The production set-up: the Redis broker with results in the database (``django://``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

import flowrra_django
from flowrra import TaskNotFoundError
from flowrra.task import TaskStatus
from flowrra_django import runtime
from flowrra_django.models import TaskResult
from tests.django.testapp import tasks
from tests.services import unavailable

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

#: A Redis db of these tests' own, on the server FLOWRRA_TEST_REDIS_URL names.
REDIS_URL = (
    urlsplit(os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11"))
    ._replace(path="/13")
    .geturl()
)


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start it")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def test_a_redis_broker_with_results_in_the_database(redis_url: str) -> None:
    with override_settings(FLOWRRA={**settings.FLOWRRA, "BROKER_URL": redis_url}):
        ok = [flowrra_django.submit(tasks.add, i, i) for i in range(20)]
        failed = flowrra_django.submit(tasks.fail, "no")
        assert TaskResult.objects.filter(status="pending").count() == 21
        runtime.shutdown()
        out = StringIO()
        call_command("flowrra_worker", "--burst", stdout=out)
    assert f"  broker:      {redis_url}" in out.getvalue()
    assert "  results:     django:// (" in out.getvalue()
    results = dict(TaskResult.objects.filter(task_id__in=ok).values_list("task_id", "result"))
    assert [results[task_id] for task_id in ok] == [2 * i for i in range(20)]
    assert TaskResult.objects.get(task_id=failed).status == "failed"


def test_the_banner_masks_the_broker_password(redis_url: str) -> None:
    secret_url = redis_url.replace("redis://", "redis://:s3cret@")
    runtime.shutdown()
    out = StringIO()
    call_command("flowrra_worker", "--burst", "--broker", secret_url, stdout=out)
    assert "  broker:      redis://:***@" in out.getvalue()
    assert "s3cret" not in out.getvalue()


def test_a_sync_submit_from_a_view_on_redis_is_checked_queued_and_run(redis_url: str) -> None:
    everything_on_redis = {**settings.FLOWRRA, "BROKER_URL": redis_url, "RESULT_BACKEND": redis_url}
    with override_settings(FLOWRRA=everything_on_redis):
        task_id = Client().get("/testapp/submit/?a=2&b=3").json()["task_id"]
        app = runtime.get_app()
        with pytest.raises(TypeError, match="cannot be sent as JSON"):
            flowrra_django.submit(tasks.add, object(), 1)
        with pytest.raises(TaskNotFoundError):
            flowrra_django.submit("nope")
        assert runtime.run_sync(lambda: app.broker_required.queue_sizes()) == {"default": 1}
        pending = runtime.run_sync(lambda: app.get_result(task_id))
        assert pending is not None and pending.status == TaskStatus.PENDING
        runtime.shutdown()
        call_command("flowrra_worker", "--burst", stdout=StringIO())
        done = runtime.run_sync(lambda: runtime.get_app().get_result(task_id))
    assert done is not None and (done.status, done.result) == (TaskStatus.SUCCESS, 5)
