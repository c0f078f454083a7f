from django.urls import path

from .views import DemoView

app_name = "shop"
urlpatterns = [path("", DemoView.as_view(), name="index")]
