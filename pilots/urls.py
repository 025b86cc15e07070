from django.urls import path

from . import views

urlpatterns = [
    path("pilots/propose/", views.pilot_propose, name="pilot_propose"),
    path("pilots/<int:pk>/edit/", views.pilot_edit, name="pilot_edit"),
    path("pilots/<int:pk>/submit/", views.pilot_submit, name="pilot_submit"),
    path(
        "pilots/<int:pk>/request-decision/",
        views.pilot_request_decision,
        name="pilot_request_decision",
    ),
    path("tools/", views.tool_registry, name="tool_registry"),
    path("tools/<int:pk>/", views.tool_detail, name="tool_detail"),
    path("tools/declare/", views.tool_declare, name="tool_declare"),
]
