from django.urls import path

from . import views

urlpatterns = [
    path("incidents/report/", views.report, name="incident_report"),
    # Its own path, so the request log can leave it out (feedback.log_filters).
    path(
        "incidents/report/anonymous/",
        views.report,
        {"anonymous": True},
        name="incident_report_anonymous",
    ),
    path("incidents/", views.register, name="incident_register"),
    path("incidents/export.csv", views.export, name="incident_export"),
    path("incidents/<uuid:pk>/", views.detail, name="incident_detail"),
]
