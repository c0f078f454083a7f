from django.contrib import admin
from django.urls import include, path

from example_project.shop.welcome_views import WelcomeView

admin.site.site_header = admin.site.site_title = "Flowrra demo"

urlpatterns = [
    path("", WelcomeView.as_view(), name="login"),
    path("admin/", admin.site.urls),
    path("flowrra/", include("flowrra_django.urls")),
    path("shop/", include("example_project.shop.urls")),
]
