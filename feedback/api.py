"""Read-only REST API of aggregated results: feedback rounds (a pilot's evidence: decisions.api).

Only what a round stores when it closes goes out: counts and the aggregated results snapshot
(feedback.results), which already withholds every figure below the anonymity threshold and
names nobody. No endpoint here reads a response, an answer, a prompt or a respondent.

Every pilot is reached through Pilot.objects.visible_to(user): a round or a pilot the caller
may not see is a 404, exactly as on /api/pilots/.
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from . import access
from .models import FeedbackRound


class FeedbackRoundSerializer(serializers.ModelSerializer):
    response_rate = serializers.FloatField(read_only=True, allow_null=True)
    # An object once closed, null before (a JSONField's schema would match null twice).
    results = serializers.DictField(read_only=True, allow_null=True)

    class Meta:
        model = FeedbackRound
        fields = [
            "id",
            "pilot",
            "period_start",
            "opens_at",
            "closes_at",
            "status",
            "invited_count",
            "response_count",
            "response_rate",
            "results",
        ]
        read_only_fields = fields


class FeedbackRoundViewSet(viewsets.ReadOnlyModelViewSet):
    """Feedback rounds of the pilots the caller may see, with their aggregated results."""

    serializer_class = FeedbackRoundSerializer
    filterset_fields = ["pilot", "status"]

    def get_queryset(self) -> QuerySet[FeedbackRound]:
        # A subquery rather than a join: visible_to() may add DISTINCT, and the round list
        # needs no pilot column beyond its id. Two queries per page (count, rows).
        return access.visible_rounds(FeedbackRound.objects.all(), self.request.user).order_by(
            "pilot_id", "-period_start", "pk"
        )
