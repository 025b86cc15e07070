"""API v1 for webhooks: Ops register, read, change and remove endpoints, and list what was
delivered to each. Everyone else gets 403 on every route (core.ops.may_manage_webhooks); the
writes go through webhooks.endpoints, like the admin's."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from core.ops import may_manage_webhooks
from webhooks import endpoints
from webhooks.models import Attempt, Delivery, Endpoint, Event


class ManagesWebhooks(BasePermission):
    message = _("Only Ops can manage webhooks.")
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        return may_manage_webhooks(request.user)


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "events",
            "active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class RegisteredSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret, shown in this answer only.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Endpoint.Kind.choices, default=Endpoint.Kind.JSON)
    url = serializers.CharField(max_length=500, help_text="http or https; a public host.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1, max_length=20
    )
    active = serializers.BooleanField(default=True)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["number", "at", "status_code", "duration_ms", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="outbox.status")
    attempts = AttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "idempotency_key", "created_at", "state", "payload", "attempts"]
        read_only_fields = fields


REGISTER_EXAMPLE = OpenApiExample(
    "A Slack channel told of breaches",
    value={
        "name": "Ops channel",
        "kind": "slack",
        "url": "https://93.184.215.14/services/T000/B000/XXXX",
        "events": ["breach.opened", "breach.resolved"],
    },
    request_only=True,
)


class EndpointViewSet(viewsets.ModelViewSet):
    """Webhook endpoints (Ops only)."""

    serializer_class = EndpointSerializer
    permission_classes = [*viewsets.ModelViewSet.permission_classes, ManagesWebhooks]
    queryset = Endpoint.objects.order_by("name", "pk")
    filterset_fields = ["kind", "active"]

    @extend_schema(
        request=EndpointInputSerializer,
        responses={201: RegisteredSerializer},
        examples=[REGISTER_EXAMPLE],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Register an endpoint; the answer holds its signing secret, never shown again."""
        data = EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registered = endpoints.register(actor=request.user, **data.validated_data)
        body = RegisteredSerializer(registered.endpoint).data
        body["secret"] = registered.secret
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=EndpointInputSerializer,
        responses={200: EndpointSerializer},
        examples=[REGISTER_EXAMPLE],
    )
    def update(self, request: Request, *args, **kwargs) -> Response:
        """Change an endpoint; making it active again starts its failure count afresh."""
        endpoint = self.get_object()
        data = EndpointInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        saved = endpoints.update(endpoint.pk, actor=request.user, fields=dict(data.validated_data))
        return Response(EndpointSerializer(saved).data)

    @extend_schema(request=EndpointInputSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        """Remove an endpoint; nothing queued for it is sent any more."""
        endpoints.remove(self.get_object().pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: RegisteredSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Give the endpoint a new signing secret, shown in this answer only."""
        registered = endpoints.rotate_secret(self.get_object().pk, actor=request.user)
        body = RegisteredSerializer(registered.endpoint).data
        body["secret"] = registered.secret
        return Response(body)

    @extend_schema(request=None, responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """What was sent to this endpoint, newest first, each attempt with its status code."""
        endpoint = self.get_object()
        rows: QuerySet[Delivery] = (
            Delivery.objects.filter(endpoint=endpoint)
            .select_related("outbox")
            .prefetch_related(Prefetch("attempts", Attempt.objects.order_by("number")))
            .order_by("-created_at", "-pk")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
