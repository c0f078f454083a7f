from django.contrib import admin
from django.urls import include, path

from tests.django.testapp.views import submit_add

urlpatterns = [
    path("admin/", admin.site.urls),
    path("flowrra/", include("flowrra_django.urls")),
    path("testapp/submit/", submit_add),
]
