"""The routes under /api/ before v1: kept for one release as deprecated aliases.

Each answers as it did, with a `Deprecation` header (RFC 9745) and a link to its successor;
the schema marks them deprecated (api.schema.mark_deprecated).
"""

from __future__ import annotations

import datetime

from rest_framework.routers import DefaultRouter

from decisions.api import AIToolViewSet, EvidenceViewSet, PilotViewSet
from feedback.api import FeedbackRoundViewSet

# The day v1 replaced these routes, as the header's structured date (seconds since the epoch).
DEPRECATED_ON = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)


class DeprecatedRoute:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Deprecation"] = f"@{int(DEPRECATED_ON.timestamp())}"
        response["Link"] = '</api/v1/>; rel="successor-version"'
        return response


def _deprecated(viewset: type) -> type:
    return type(f"Deprecated{viewset.__name__}", (DeprecatedRoute, viewset), {})


router = DefaultRouter()
router.register("pilots", _deprecated(PilotViewSet), basename="pilot")
router.register("tools", _deprecated(AIToolViewSet), basename="tool")
router.register("rounds", _deprecated(FeedbackRoundViewSet), basename="feedback-round")
router.register("evidence", _deprecated(EvidenceViewSet), basename="evidence")
