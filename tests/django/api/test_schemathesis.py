"""Schemathesis fuzzes every operation of the OpenAPI document, in-process through
Django's WSGI handler, with random and hostile inputs: no response may be a server error,
and every response must be JSON matching the schema the document gives its status."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from flowrra.task import utcnow
from flowrra.ui.openapi import document
from flowrra_django.models import ScheduledTask, TaskResult, WorkerHeartbeat

from .conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

#: Examples per operation: enough to reach the error paths, small enough to finish in
#: about a minute for all of them.
EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(document())
schema.app = get_wsgi_application()


@pytest.fixture
def world(settings: object) -> None:
    """A token user with every permission, and a task, schedule and worker to act on."""
    user = User.objects.create_user("fuzzer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="flowrra_django"))
    settings.FLOWRRA = {**settings.FLOWRRA, "API_TOKENS": {TOKEN: "fuzzer"}}  # type: ignore[attr-defined]
    TaskResult.objects.create(
        task_id="t-1", task_name="add", status="pending", submitted_at=utcnow()
    )
    ScheduledTask.objects.create(
        name="nightly", task_name="add", schedule_type="cron", schedule="0 3 * * *", args=[1, 2]
    )
    now = utcnow()
    WorkerHeartbeat.objects.create(
        worker_id="w-1", info={"id": "w-1"}, last_seen=now, expires_at=now + dt.timedelta(minutes=5)
    )


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_gives_a_server_error_or_an_undocumented_response(
    case: schemathesis.Case, world: None
) -> None:
    response = case.call(
        base_url="http://localhost/flowrra/api", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code != 401, "the token was refused: the fuzzing would test nothing"
    case.validate_response(response, checks=CHECKS)
