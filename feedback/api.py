"""Read-only REST API of aggregated results: feedback rounds and a pilot's evidence.

Only what a round stores when it closes goes out: counts and the aggregated results snapshot
(feedback.results), which already withholds every figure below the anonymity threshold and
names nobody. No endpoint here reads a response, an answer, a prompt or a respondent.

Every pilot is reached through Pilot.objects.visible_to(user): a round or a pilot the caller
may not see is a 404, exactly as on /api/pilots/.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from pilots import evidence
from pilots.models import Pilot

from . import access
from .models import FeedbackRound


class FeedbackRoundSerializer(serializers.ModelSerializer):
    response_rate = serializers.FloatField(read_only=True, allow_null=True)
    results = serializers.JSONField(read_only=True, allow_null=True)

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


class ToDecideSerializer(serializers.Serializer):
    """How far an inconclusive metric is from a decision (pilots.evidence.ToDecide)."""

    need = serializers.ChoiceField(choices=[evidence.Need.ANSWERS, evidence.Need.SPREAD])
    answers = serializers.IntegerField()
    rounds = serializers.IntegerField(allow_null=True)
    per_round = serializers.IntegerField(allow_null=True)
    round_size = serializers.IntegerField(allow_null=True)


class MetricEvidenceSerializer(serializers.Serializer):
    metric = serializers.CharField()
    question = serializers.CharField()
    target = serializers.FloatField()
    direction = serializers.CharField()
    min_responses = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[
            evidence.MetricStatus.MET,
            evidence.MetricStatus.NOT_MET,
            evidence.MetricStatus.INCONCLUSIVE,
        ]
    )
    reason = serializers.CharField()
    n = serializers.IntegerField()
    estimate = serializers.FloatField(allow_null=True)
    ci = serializers.ListField(child=serializers.FloatField(allow_null=True))
    n_effective = serializers.IntegerField()
    to_decide = ToDecideSerializer(allow_null=True)
    to_decide_reason = serializers.CharField(allow_blank=True)


class RecommendationSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[
            evidence.Recommendation.PROMOTE,
            evidence.Recommendation.KEEP_GOING,
            evidence.Recommendation.STOP,
        ]
    )
    reason = serializers.CharField()


class HoursSavedSerializer(serializers.Serializer):
    estimate = serializers.FloatField(allow_null=True)
    ci = serializers.ListField(child=serializers.FloatField(allow_null=True))
    n = serializers.IntegerField()
    participants = serializers.IntegerField()


class GuardrailStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=["holding", "broken", "not_evaluated"])
    status_label = serializers.CharField()


class EvidenceSerializer(serializers.Serializer):
    """The shape of evidence.evidence_snapshot(), the one a stage change stores."""

    pilot = serializers.IntegerField()
    title = serializers.CharField()
    stage = serializers.CharField()
    metrics = MetricEvidenceSerializer(many=True)
    guardrails = GuardrailStatusSerializer(many=True)
    recommendation = RecommendationSerializer(allow_null=True)
    hours_saved_per_month = HoursSavedSerializer()
    rounds = serializers.ListField(child=serializers.IntegerField())
    open_breaches = serializers.IntegerField()
    open_breach_ids = serializers.ListField(child=serializers.IntegerField())


class EvidenceViewSet(viewsets.ViewSet):
    """A pilot's evidence as it stands: metric statuses, recommendation, hours saved."""

    lookup_field = "pilot_id"
    lookup_value_regex = r"\d+"

    @extend_schema(responses={200: EvidenceSerializer})
    def retrieve(self, request: Request, pilot_id: str | None = None, **kwargs) -> Response:
        # kwargs: the router's format suffix (`/api/evidence/1.json`) passes `format`.
        pilot = get_object_or_404(Pilot.objects.visible_to(request.user), pk=pilot_id)
        # The same computation as a decision's snapshot, so the API and the record agree.
        snapshot = evidence.worded_snapshot(evidence.evidence_snapshot(pilot))
        data = {"pilot": pilot.pk, "title": pilot.title, "stage": pilot.stage, **snapshot}
        return Response(EvidenceSerializer(data).data)
