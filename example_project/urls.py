from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("flowrra/", include("flowrra_django.urls")),
    path("", include("example_project.shop.urls")),
]
