from django.contrib import admin
from django.urls import include, path

from aiops_site.health import healthz
from aiops_site.metrics import metrics
from core.views import export_audit
from pilots.views import sign_in

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
    # API v1, its schema and docs, and the deprecated routes before it (api.urls).
    path("api/", include("api.urls")),
    path("me/tokens/", include("api.token_urls")),
    path("reports/", include("decisions.report_urls")),
    path("", include("governance.urls")),
    path("", include("notifications.urls")),
    path("", include("decisions.urls")),
    path("", include("pilots.urls")),
    path("", include("incidents.urls")),
]
