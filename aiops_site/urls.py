from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from aiops_site.health import healthz
from pilots.api import AIToolViewSet, PilotViewSet

api = DefaultRouter()
api.register("pilots", PilotViewSet, basename="pilot")
api.register("tools", AIToolViewSet, basename="tool")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("feedback/", include("feedback.urls")),
    path("healthz", healthz, name="healthz"),
    # The schema only: Swagger UI would load its assets from a CDN.
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/", include(api.urls)),
    path("reports/", include("pilots.report_urls")),
    path("", include("pilots.urls")),
]
