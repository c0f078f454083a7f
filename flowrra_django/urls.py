"""The dashboard's URLs: ``path("flowrra/", include("flowrra_django.urls"))``."""

from django.urls import path

from . import views
from .views.api import routes as api_routes
from .views.health import HealthView
from .views.metrics import MetricsView

app_name = "flowrra"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("tasks/", views.TaskListView.as_view(), name="tasks"),
    path("tasks/<str:task_id>/", views.TaskDetailView.as_view(), name="task"),
    path("tasks/<str:task_id>/retry/", views.TaskRetryView.as_view(), name="task-retry"),
    path("tasks/<str:task_id>/revoke/", views.TaskRevokeView.as_view(), name="task-revoke"),
    path("workers/", views.WorkerListView.as_view(), name="workers"),
    path("workers/<str:worker_id>/", views.WorkerDetailView.as_view(), name="worker"),
    path("queues/", views.QueueListView.as_view(), name="queues"),
    path(
        "queues/dead/<str:letter_id>/requeue/",
        views.DeadLetterActionView.as_view(action="requeue"),
        name="dead-requeue",
    ),
    path(
        "queues/dead/<str:letter_id>/delete/",
        views.DeadLetterActionView.as_view(action="delete"),
        name="dead-delete",
    ),
    path("schedules/", views.ScheduleListView.as_view(), name="schedules"),
    path("schedules/add/", views.ScheduleFormView.as_view(), name="schedule-add"),
    path("schedules/preview/", views.SchedulePreviewView.as_view(), name="schedule-preview"),
    path("schedules/<str:schedule_id>/", views.ScheduleFormView.as_view(), name="schedule"),
    *(
        path(
            f"schedules/<str:schedule_id>/{action}/",
            views.ScheduleActionView.as_view(action=action),
            name=f"schedule-{action}",
        )
        for action in ("enable", "disable", "delete", "run")
    ),
    path(
        "workers/<str:worker_id>/control/",
        views.WorkerControlView.as_view(),
        name="worker-control",
    ),
    path("health", HealthView.as_view(), name="health"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    *api_routes.urlpatterns,
]
