"""Routes of the API: v1, its schema and docs, and the deprecated routes before it."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import deprecated, pilots, registry, rounds, webhooks

v1 = DefaultRouter()
v1.register("pilots", pilots.PilotViewSet, basename="v1-pilot")
v1.register("rounds", rounds.RoundViewSet, basename="v1-round")
v1.register("prompts", rounds.PromptViewSet, basename="v1-prompt")
v1.register("tools", registry.ToolViewSet, basename="v1-tool")
v1.register("declarations", registry.DeclarationViewSet, basename="v1-declaration")
v1.register("breaches", registry.BreachViewSet, basename="v1-breach")
v1.register("webhooks", webhooks.EndpointViewSet, basename="v1-webhook")

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="api_v1_schema"),
    # Split view: Swagger UI's script is a file of its own, so no inline script is needed
    # under a Content-Security-Policy; its assets come from this server (sidecar).
    path(
        "v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_v1_schema"),
        name="api_v1_docs",
    ),
    path("v1/", include(v1.urls)),
    # Deprecated: the schema of before, and the routes of before.
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("", include(deprecated.router.urls)),
]
