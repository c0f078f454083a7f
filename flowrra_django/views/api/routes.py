"""The API's URLs, under ``api/``; :mod:`flowrra_django.urls` lists them with the pages'."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import path, re_path, reverse

from .base import ApiError, ApiView, json_response
from .control import TaskTerminateApi, WorkerControlApi
from .schedules import ScheduleActionApi, ScheduleDetailApi, ScheduleListApi
from .system import DeadLetterActionApi, QueueListApi, StatsApi, WorkerDetailApi, WorkerListApi
from .tasks import TaskDetailApi, TaskListApi, TaskRetryApi, TaskRevokeApi, TaskTypeListApi


class OpenApiDocument(ApiView):
    """The OpenAPI 3.1 document of this API, its server being this deployment's."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        from flowrra.ui.openapi import document

        doc = document()
        doc["servers"] = [{"url": request.build_absolute_uri(reverse("flowrra:api-tasks"))[:-7]}]
        return json_response(doc)


class UnknownApi(ApiView):
    """Any other path under ``api/``: a JSON 404 (after the same authentication)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.get = self.post = self._missing  # every method is "allowed", then not found
        return super().dispatch(request, *args, **kwargs)

    def _missing(self, *args: object, **kwargs: object) -> None:
        raise ApiError(404, "No such API endpoint: see openapi.json.")


urlpatterns = [
    path("api/openapi.json", OpenApiDocument.as_view(), name="api-openapi"),
    path("api/tasks/", TaskListApi.as_view(), name="api-tasks"),
    path("api/tasks/<str:task_id>/", TaskDetailApi.as_view(), name="api-task"),
    path("api/tasks/<str:task_id>/retry/", TaskRetryApi.as_view(), name="api-task-retry"),
    path("api/tasks/<str:task_id>/revoke/", TaskRevokeApi.as_view(), name="api-task-revoke"),
    path(
        "api/tasks/<str:task_id>/terminate/",
        TaskTerminateApi.as_view(),
        name="api-task-terminate",
    ),
    path("api/task-types/", TaskTypeListApi.as_view(), name="api-task-types"),
    path("api/schedules/", ScheduleListApi.as_view(), name="api-schedules"),
    path("api/schedules/<str:schedule_id>/", ScheduleDetailApi.as_view(), name="api-schedule"),
    *(
        path(
            f"api/schedules/<str:schedule_id>/{action}/",
            ScheduleActionApi.as_view(action=action),
            name=f"api-schedule-{action}",
        )
        for action in ("enable", "disable", "run")
    ),
    path("api/workers/", WorkerListApi.as_view(), name="api-workers"),
    path("api/workers/<str:worker_id>/", WorkerDetailApi.as_view(), name="api-worker"),
    path(
        "api/workers/<str:worker_id>/control/",
        WorkerControlApi.as_view(),
        name="api-worker-control",
    ),
    path("api/queues/", QueueListApi.as_view(), name="api-queues"),
    *(
        path(
            f"api/queues/dead/<str:letter_id>/{action}/",
            DeadLetterActionApi.as_view(action=action),
            name=f"api-dead-{action}",
        )
        for action in ("requeue", "delete")
    ),
    path("api/stats/", StatsApi.as_view(), name="api-stats"),
    re_path(r"^api/.*$", UnknownApi.as_view(), name="api-unknown"),
]
