"""REST API for pilots (read-only viewsets; writes are explicit actions calling the domain)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import lifecycle
from .exceptions import DomainError
from .models import AITool, Participation, Pilot, StageChange
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


class PilotViewSet(viewsets.ReadOnlyModelViewSet):
    """Pilots the caller may see; POST move/ moves one through the lifecycle."""

    serializer_class = PilotSerializer
    filterset_class = PilotFilter

    def get_queryset(self) -> QuerySet[Pilot]:
        # Every pilot is fetched through visible_to: a pilot the caller may not see is a 404.
        return (
            Pilot.objects.visible_to(self.request.user)
            .select_related("team", "tool", "lead")
            .prefetch_related(
                "metrics",
                "guardrails",
                Prefetch("participations", queryset=Participation.objects.select_related("user")),
            )
            .order_by("pk")
        )

    @extend_schema(request=MoveSerializer, responses={201: StageChangeSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        pilot = self.get_object()
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = lifecycle.move(
            pilot.pk,
            data.validated_data["action"],
            actor=request.user,
            expected_stage=data.validated_data["expected_stage"],
            rationale=data.validated_data["rationale"],
            override=data.validated_data["override"],
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
