from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from example_project.shop.welcome_views import WelcomeView

admin.site.site_header = admin.site.site_title = "Flowrra demo"

urlpatterns = [
    path("", WelcomeView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("flowrra/", include("flowrra_django.urls")),
    path("shop/", include("example_project.shop.urls")),
]
