"""REST API for pilots (read-only viewsets; writes are explicit actions calling the domain)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError
from pilots import conclusions, lifecycle
from pilots.models import AITool, Participation, Pilot, StageChange

from . import evidence
from .serializers import (
    AIToolSerializer,
    MoveSerializer,
    PilotSerializer,
    StageChangeSerializer,
)


def exception_handler(exc, context):
    """Map domain errors to 400/403/409 with the same code and message the UI shows."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, serializers.ValidationError) and isinstance(exc.detail, dict):
        # Input errors take the same shape as domain errors: the first field that failed.
        field, errors = next(iter(exc.detail.items()))
        error = errors[0] if isinstance(errors, list) else errors
        return Response(
            {"code": getattr(error, "code", "invalid"), "field": field, "detail": str(error)},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)


class PilotFilter(filters.FilterSet):
    class Meta:
        model = Pilot
        fields = ["stage", "team", "tool", "risk_level"]


def visible_pilots(user) -> QuerySet[Pilot]:
    """The pilots an API caller may see, with what a pilot's body shows (both API versions).

    Every pilot is fetched through visible_to: a pilot the caller may not see is a 404.
    """
    return (
        Pilot.objects.visible_to(user)
        .select_related("team", "tool", "lead", "conclusion")
        .prefetch_related(
            "metrics",
            "guardrails",
            Prefetch("participations", queryset=Participation.objects.select_related("user")),
        )
        .order_by("pk")
    )


class PilotViewSet(viewsets.ReadOnlyModelViewSet):
    """Pilots the caller may see; POST move/ moves one through the lifecycle."""

    serializer_class = PilotSerializer
    filterset_class = PilotFilter

    def get_queryset(self) -> QuerySet[Pilot]:
        return visible_pilots(self.request.user)

    @extend_schema(request=MoveSerializer, responses={201: StageChangeSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        pilot = self.get_object()
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data["conclusion"]
        change = lifecycle.move(
            pilot.pk,
            data.validated_data["action"],
            actor=request.user,
            expected_stage=data.validated_data["expected_stage"],
            rationale=data.validated_data["rationale"],
            override=data.validated_data["override"],
            conclusion=conclusions.Findings.build(**given) if given is not None else None,
        )
        return Response(StageChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: StageChangeSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="stage-changes")
    def stage_changes(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        pilot = self.get_object()
        changes = StageChange.objects.filter(pilot=pilot).select_related("actor")
        page = self.paginate_queryset(changes)
        serializer = StageChangeSerializer(page if page is not None else changes, many=True)
        if page is not None:
            return self.get_paginated_response(serializer.data)
        return Response(serializer.data)


class AIToolViewSet(viewsets.ReadOnlyModelViewSet):
    """The AI tool registry."""

    serializer_class = AIToolSerializer
    queryset = AITool.objects.order_by("name")
    filterset_fields = ["approval_status", "max_data_classification"]


class ToDecideSerializer(serializers.Serializer):
    """How far an inconclusive metric is from a decision (decisions.evidence.ToDecide)."""

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


class ResultRowSerializer(serializers.Serializer):
    """One row of a pilot's results table (decisions.results_table.Row), figures only."""

    kind = serializers.ChoiceField(choices=["metric", "guardrail"])
    key = serializers.CharField()
    name = serializers.CharField()
    baseline = serializers.FloatField(allow_null=True)
    estimate = serializers.FloatField(
        allow_null=True, help_text="Null when too few answers to show (anonymity threshold)."
    )
    ci_low = serializers.FloatField(source="low", allow_null=True)
    ci_high = serializers.FloatField(source="high", allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="Estimate minus the baseline.")
    change_percent = serializers.FloatField(allow_null=True)
    target = serializers.CharField(help_text="As the page shows it, e.g. “≥ 3.5”.")
    target_value = serializers.FloatField(allow_null=True)
    comparator = serializers.CharField(
        allow_blank=True,
        help_text="A metric's direction (higher, lower) or a guardrail's comparator "
        "(lt, le, eq, ge, gt).",
    )
    status = serializers.ChoiceField(
        choices=["met", "not_met", "inconclusive", "holding", "broken", "not_evaluated"]
    )
    status_label = serializers.CharField()
    to_decide = serializers.CharField(allow_blank=True)


class ResultsSerializer(serializers.Serializer):
    """A pilot's results at a glance: the rows of the table on its page and in its report."""

    pilot = serializers.IntegerField()
    rows = ResultRowSerializer(many=True)


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
