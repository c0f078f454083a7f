"""URLs of the Django Tasks tests: the admin and a view that enqueues a task."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.django.testapp import dj_tasks


def enqueue_add(request: HttpRequest) -> JsonResponse:
    result = dj_tasks.add.enqueue(int(request.POST["a"]), int(request.POST["b"]))
    return JsonResponse({"id": result.id, "status": str(result.status)})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("enqueue-add/", enqueue_add),
]
