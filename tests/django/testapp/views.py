"""A view that submits a task inside its transaction, as a site's views do."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse

import flowrra_django

from . import tasks


def submit_add(request: HttpRequest) -> JsonResponse:
    """Submit ``add(a, b)`` inside a transaction; with ``fail`` the view raises after the
    submit, so the transaction rolls back."""
    with transaction.atomic():
        task_id = flowrra_django.submit(tasks.add, int(request.GET["a"]), int(request.GET["b"]))
        if request.GET.get("fail"):
            raise RuntimeError(f"the view failed after submitting {task_id}")
    return JsonResponse({"task_id": task_id})
