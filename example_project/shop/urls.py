from django.urls import path

from .report_views import ReportView
from .views import DemoView

app_name = "shop"
urlpatterns = [
    path("", DemoView.as_view(), name="index"),
    path("report/", ReportView.as_view(), name="report"),
]
