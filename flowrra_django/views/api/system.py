"""Workers, queues with their dead letters, and the stats of the last day."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from flowrra.ui.serialize import (
    queues_page_json,
    stats_json,
    worker_detail_json,
    workers_page_json,
)

from .base import ApiError, ApiView, json_response, not_found
from .tasks import CONTROL


class WorkerListApi(ApiView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.ui.get_workers_page_data())
        return json_response(workers_page_json(data))


class WorkerDetailApi(ApiView):
    def get(self, request: HttpRequest, *args: Any, worker_id: str, **kwargs: Any) -> JsonResponse:
        detail = self.services(lambda s: s.ui.get_worker_detail(worker_id))
        if detail is None:
            raise not_found("worker")
        return json_response(worker_detail_json(detail))


class QueueListApi(ApiView):
    """Queue totals per priority, delayed messages and dead letters (null when the broker
    does not keep them)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.ui.get_queues_page_data())
        return json_response(queues_page_json(data))


class DeadLetterActionApi(ApiView):
    """POST requeue or delete (``action``) one dead letter."""

    action = "requeue"
    permissions = {"POST": CONTROL}

    def post(self, request: HttpRequest, *args: Any, letter_id: str, **kwargs: Any) -> JsonResponse:
        try:
            done = self.services(lambda s: s.ui.act_on_dead_letter(letter_id, self.action))
        except NotImplementedError:
            raise ApiError(404, "This broker does not keep dead letters.") from None
        except ValueError as exc:
            raise ApiError(409, f"Not requeued: {exc}") from None
        if not done:
            raise not_found("dead letter")
        return json_response({"id": letter_id, "action": self.action, "done": True})


class StatsApi(ApiView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = self.services(lambda s: s.ui.get_stats_data())
        return json_response(stats_json(data))
