from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from aiops_site.health import healthz
from aiops_site.metrics import metrics
from core.views import export_audit
from decisions.api import AIToolViewSet, EvidenceViewSet, PilotViewSet
from feedback.api import FeedbackRoundViewSet
from pilots.views import sign_in

api = DefaultRouter()
api.register("pilots", PilotViewSet, basename="pilot")
api.register("tools", AIToolViewSet, basename="tool")
api.register("rounds", FeedbackRoundViewSet, basename="feedback-round")
api.register("evidence", EvidenceViewSet, basename="evidence")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before Django's own: the same sign-in page, listing the demo accounts in demo mode.
    path("accounts/login/", sign_in, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("feedback/", include("feedback.urls")),
    path("healthz", healthz, name="healthz"),
    path("audit/export/", export_audit, name="audit_export"),
    path("metrics", metrics, name="metrics"),
    # The schema only: Swagger UI would load its assets from a CDN.
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/", include(api.urls)),
    path("reports/", include("decisions.report_urls")),
    path("", include("decisions.urls")),
    path("", include("pilots.urls")),
]
