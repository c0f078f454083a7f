from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_render(operator, make_result) -> None:
    make_result("t-1", "failed", error="boom <script>x</script>", worker="host:1:abc")
    for name in ("overview", "tasks", "workers", "queues", "schedules", "schedule-add"):
        response = operator.get(reverse(f"flowrra:{name}"))
        assert response.status_code == 200, (name, response.content[:3000])
    response = operator.get(reverse("flowrra:task", args=["t-1"]))
    assert response.status_code == 200
