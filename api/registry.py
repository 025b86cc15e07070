"""API v1 for the registry: tools (Ops write), declarations (anyone declares, Ops act on them),
and guardrail breaches (Ops resolve). Reviews are under their pilot (api.pilots)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.ops import is_ops
from decisions import guardrails
from decisions.serializers import AIToolSerializer
from pilots import declarations, tools
from pilots.models import AITool, GuardrailBreach, Pilot, ToolDeclaration

from .examples import DECLARE, NOTE, TOOL
from .serializers import (
    BreachSerializer,
    DeclarationSerializer,
    DeclareSerializer,
    NoteSerializer,
    PilotV1Serializer,
    ToolInputSerializer,
)


class ToolViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The AI tool registry: everyone reads it, Ops add and change tools."""

    serializer_class = AIToolSerializer
    queryset = AITool.objects.order_by("name", "pk")
    filterset_fields = ["approval_status", "max_data_classification"]

    @extend_schema(request=ToolInputSerializer, responses={201: AIToolSerializer}, examples=[TOOL])
    def create(self, request: Request, *args, **kwargs) -> Response:
        return self._save(request, None, partial=False)

    @extend_schema(request=ToolInputSerializer, responses={200: AIToolSerializer})
    def update(self, request: Request, *args, **kwargs) -> Response:
        return self._save(request, self.get_object(), partial=kwargs.get("partial", False))

    def _save(self, request: Request, tool: AITool | None, *, partial: bool) -> Response:
        data = ToolInputSerializer(tool, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        saved = tools.save_tool(
            tool.pk if tool else None, actor=request.user, fields=dict(data.validated_data)
        )
        return Response(
            AIToolSerializer(saved).data,
            status=status.HTTP_200_OK if tool else status.HTTP_201_CREATED,
        )


class DeclarationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Tool declarations: each person sees their own, Ops see all and act on new ones."""

    serializer_class = DeclarationSerializer
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[ToolDeclaration]:
        # Anonymous declarations are only counted (pilots.declarations), never listed.
        rows = (
            ToolDeclaration.objects.named()
            .select_related("declared_by")
            .order_by("-created_at", "-pk")
        )
        if is_ops(self.request.user):
            return rows
        return rows.filter(declared_by_id=self.request.user.pk)

    @extend_schema(
        request=DeclareSerializer, responses={201: DeclarationSerializer}, examples=[DECLARE]
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = DeclareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        declaration = declarations.declare(user=request.user, **data.validated_data)
        return Response(DeclarationSerializer(declaration).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: AIToolSerializer})
    @action(detail=True, methods=["post"], url_path="register-tool")
    def register_tool(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Register the declared tool (under evaluation), or link the known one (Ops)."""
        tool = declarations.register_tool(self.get_object().pk, actor=request.user)
        return Response(AIToolSerializer(tool).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: PilotV1Serializer})
    @action(detail=True, methods=["post"], url_path="turn-into-pilot")
    def turn_into_pilot(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Open a draft pilot led by the person who declared the tool (Ops)."""
        pilot = declarations.turn_into_pilot(self.get_object().pk, actor=request.user)
        pilot = Pilot.objects.select_related("team", "tool", "lead").get(pk=pilot.pk)
        return Response(PilotV1Serializer(pilot).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses={200: DeclarationSerializer}, examples=[NOTE])
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Close a new declaration with a note saying why nothing follows (Ops)."""
        declaration = self.get_object()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        declaration = declarations.dismiss(
            declaration.pk, actor=request.user, note=data.validated_data["note"]
        )
        return Response(DeclarationSerializer(declaration).data)


class BreachFilter(filters.FilterSet):
    pilot = filters.NumberFilter(field_name="pilot_id")
    open = filters.BooleanFilter(field_name="resolved_at", lookup_expr="isnull")

    class Meta:
        model = GuardrailBreach
        fields = ["pilot", "open"]


class BreachViewSet(viewsets.ReadOnlyModelViewSet):
    """Guardrail breaches of the pilots the caller may see; Ops resolve them."""

    serializer_class = BreachSerializer
    filterset_class = BreachFilter

    def get_queryset(self) -> QuerySet[GuardrailBreach]:
        visible = Pilot.objects.visible_to(self.request.user).values("pk")
        return (
            GuardrailBreach.objects.filter(pilot__in=visible)
            .select_related("guardrail", "round", "resolved_by")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(request=NoteSerializer, responses={200: BreachSerializer}, examples=[NOTE])
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Close an open breach with a note saying how it was resolved (Ops)."""
        breach = self.get_object()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        breach = guardrails.resolve_breach(
            breach.pk, actor=request.user, note=data.validated_data["note"]
        )
        return Response(BreachSerializer(breach).data)
