from django.urls import path

from . import reports

urlpatterns = [
    path("pilots/<int:pk>/", reports.pilot_report, name="pilot_report"),
    path("pilots/<int:pk>/report.md", reports.pilot_report_markdown, name="pilot_report_markdown"),
    path("pilots/<int:pk>/results.csv", reports.pilot_report_csv, name="pilot_report_csv"),
]
