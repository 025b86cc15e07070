"""API v1 for pilots: list and read what the caller may see, write drafts, move stages.

Every pilot is reached through Pilot.objects.visible_to(user): one the caller may not see is a
404, on every route. Writes call the domain functions the web pages call (pilots.proposals,
pilots.lifecycle, pilots.reviews), so the same rules give the same codes and messages.
"""

from __future__ import annotations

import csv
import io

from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core import changelog
from decisions import evidence, reports
from decisions.api import EvidenceSerializer, ResultsSerializer, visible_pilots
from decisions.serializers import MoveSerializer, StageChangeSerializer
from pilots import conclusions, lifecycle, proposals, reviews
from pilots.models import AITool, Pilot, Review, Stage, StageChange, Team

from .examples import APPROVE, DRAFT, SUBMIT
from .renderers import CSVRenderer, MarkdownRenderer
from .serializers import (
    ChangeRecordSerializer,
    PilotV1Serializer,
    ProposalSerializer,
    ReviewInputSerializer,
    ReviewSerializer,
    SubmitSerializer,
)


class PilotFilter(filters.FilterSet):
    stage = filters.ChoiceFilter(choices=Stage.choices)
    team = filters.ModelChoiceFilter(queryset=Team.objects.all())
    tool = filters.ModelChoiceFilter(queryset=AITool.objects.all())
    risk = filters.ChoiceFilter(field_name="risk_level", choices=Pilot.RiskLevel.choices)
    search = filters.CharFilter(method="search_text", help_text="Words in the title or problem.")

    class Meta:
        model = Pilot
        fields = ["stage", "team", "tool", "risk", "search"]

    def search_text(self, queryset: QuerySet[Pilot], name: str, value: str) -> QuerySet[Pilot]:
        for word in value.split()[:5]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(problem__icontains=word))
        return queryset


def _paginated(view, queryset, serializer_class, **kwargs) -> Response:
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True, **kwargs).data)


def _current_proposal(pilot: Pilot) -> dict:
    """A draft as proposal input, so that PATCH changes only what it names."""
    data = {"team": pilot.team_id}
    for name in proposals.PILOT_FIELDS:
        data[name] = getattr(pilot, f"{name}_id" if name == "tool" else name)
    data["metrics"] = list(pilot.metrics.values(*proposals.METRIC_FIELDS))
    data["guardrails"] = [
        {k: v for k, v in row.items() if v is not None}
        for row in pilot.guardrails.enabled().values(*proposals.GUARDRAIL_FIELDS)
    ]
    data["participants"] = list(pilot.participations.values_list("user__username", flat=True))
    return data


class PilotViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Pilots the caller may see; drafts written through pilots.proposals."""

    serializer_class = PilotV1Serializer
    filterset_class = PilotFilter

    def get_queryset(self) -> QuerySet[Pilot]:
        return visible_pilots(self.request.user)

    @extend_schema(request=ProposalSerializer, responses={201: PilotV1Serializer}, examples=[DRAFT])
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = ProposalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team, proposal = data.to_proposal()
        pilot = proposals.create_draft(actor=request.user, team=team, proposal=proposal)
        return Response(
            PilotV1Serializer(self.get_queryset().get(pk=pilot.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ProposalSerializer, responses={200: PilotV1Serializer})
    def update(self, request: Request, *args, **kwargs) -> Response:
        pilot = self.get_object()
        given = request.data if isinstance(request.data, dict) else {}
        if kwargs.get("partial"):
            given = {**_current_proposal(pilot), **given}
        data = ProposalSerializer(data=given)
        data.is_valid(raise_exception=True)
        team, proposal = data.to_proposal()
        proposals.update_draft(pilot.pk, editor=request.user, proposal=proposal, team=team)
        return Response(PilotV1Serializer(self.get_queryset().get(pk=pilot.pk)).data)

    @extend_schema(
        request=SubmitSerializer, responses={201: StageChangeSerializer}, examples=[SUBMIT]
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        pilot = self.get_object()
        data = SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = proposals.submit(
            pilot.pk, actor=request.user, expected_stage=data.validated_data["expected_stage"]
        )
        return Response(StageChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses={200: StageChangeSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=MoveSerializer,
        responses={201: StageChangeSerializer},
        examples=[APPROVE],
    )
    @action(detail=True, methods=["get", "post"])
    def transitions(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """GET: the stage history. POST: move the pilot (action, expected_stage, rationale,
        override, and the conclusion of a stop, retirement or promotion to approved standard),
        refused with the web's code and message."""
        pilot = self.get_object()
        if request.method == "GET":
            changes = (
                StageChange.objects.filter(pilot=pilot)
                .select_related("actor")
                .order_by("created_at", "pk")
            )
            return _paginated(self, changes, StageChangeSerializer)
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
            # Stop, retire and promote to approved standard record a conclusion.
            conclusion=conclusions.Findings.build(**given) if given is not None else None,
        )
        return Response(StageChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ChangeRecordSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Every change record about the pilot and what hangs off it, oldest first."""
        pilot = self.get_object()
        return _paginated(
            self, changelog.history(pilot).order_by("created_at", "pk"), ChangeRecordSerializer
        )

    @extend_schema(responses={200: EvidenceSerializer})
    @action(detail=True, methods=["get"])
    def evidence(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        pilot = self.get_object()
        snapshot = evidence.worded_snapshot(evidence.evidence_snapshot(pilot))
        data = {"pilot": pilot.pk, "title": pilot.title, "stage": pilot.stage, **snapshot}
        return Response(EvidenceSerializer(data).data)

    @extend_schema(responses={200: ResultsSerializer})
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """The results at a glance: a row per success metric and metric guardrail, as on the
        pilot page and in its report (figures under the anonymity threshold are null)."""
        pilot = self.get_object()
        table = evidence.results_at_a_glance(pilot)
        return Response(ResultsSerializer({"pilot": pilot.pk, "rows": table["rows"]}).data)

    @extend_schema(
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The report."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Round results."),
        }
    )
    @action(detail=True, methods=["get"], renderer_classes=[MarkdownRenderer, CSVRenderer])
    def report(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """The pilot's report in Markdown, or its round results in CSV (Accept header)."""
        pilot = self.get_object()
        if request.accepted_renderer.format == "csv":
            rounds = list(pilot.rounds.closed().order_by("period_start"))
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(reports.CSV_HEADER)
            for row in reports.csv_rows(evidence.round_rows(rounds)):
                writer.writerow([reports._cell(v) for v in row])
            text = out.getvalue()
            filename = f"pilot-{pilot.pk}-results.csv"
        else:
            text = render_to_string(
                "reports/pilot_report.md", reports.report_context(pilot), request=request._request
            )
            filename = f"pilot-{pilot.pk}.md"
        response = Response(text)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @extend_schema(methods=["GET"], request=None, responses={200: ReviewSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=ReviewInputSerializer, responses={201: ReviewSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def reviews(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """GET: the pilot's security and legal reviews. POST: record one (Ops, four eyes)."""
        pilot = self.get_object()
        if request.method == "GET":
            rows = Review.objects.filter(pilot=pilot).select_related("reviewer")
            return _paginated(self, rows.order_by("-reviewed_on", "-pk"), ReviewSerializer)
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = reviews.record_review(pilot.pk, actor=request.user, **data.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)
