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
    path(
        "pilots/<int:pk>/save-as-template/",
        views.pilot_save_as_template,
        name="pilot_save_as_template",
    ),
    path("tools/", views.tool_registry, name="tool_registry"),
    path("tools/<int:pk>/", views.tool_detail, name="tool_detail"),
    path("tools/declare/", views.tool_declare, name="tool_declare"),
    # Its own path, so the request log can leave it out (feedback.log_filters).
    path(
        "tools/declare/anonymous/",
        views.tool_declare,
        {"anonymous": True},
        name="tool_declare_anonymous",
    ),
    path("tools/declarations/", views.declaration_counts, name="declaration_counts"),
]
