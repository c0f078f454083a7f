"""Queues per priority, delayed and held messages, dead letters and their actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse

from .. import dashboard
from .access import ActionView
from .pages import DashboardPage


class QueueListView(DashboardPage):
    page = "queues.html"
    section = "queues"
    title = "Queues"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.services(lambda s: s.ui.get_queues_page_data()))
        return context


class DeadLetterActionView(ActionView):
    """Requeue (``action = "requeue"``) or delete a dead letter."""

    permission = "flowrra_django.change_taskresult"
    action = "requeue"

    def act(self, request: HttpRequest, **kwargs: Any) -> tuple[int, str, str]:
        letter_id = kwargs["letter_id"]
        back = reverse("flowrra:queues") + "#dead-letters"
        try:
            done = dashboard.call(lambda s: s.ui.act_on_dead_letter(letter_id, self.action))
        except NotImplementedError:
            return messages.ERROR, "This broker does not keep dead letters.", back
        except ValueError as exc:
            return messages.ERROR, f"Not requeued: {exc}", back
        if not done:
            return messages.WARNING, "That dead letter is gone already.", back
        verb = "Requeued" if self.action == "requeue" else "Deleted"
        return messages.SUCCESS, f"{verb} the dead letter.", back
