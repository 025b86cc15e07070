"""API v1 for feedback: rounds with their aggregated results, Ops acting on a round now, and
the caller's own prompts.

No route here returns a response, an answer or who answered what: a round shows only what it
stores when it closes (counts and the aggregated results, feedback.results), and a prompt is
only ever shown to its own participant, exactly as the inbox shows it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from feedback import access, answering, scheduling
from feedback.models import FeedbackRound, Prompt
from pilots.models import Pilot

from .schema import ErrorSerializer
from .serializers import (
    AnsweredSerializer,
    AnswerSerializer,
    OpenRoundSerializer,
    PromptSerializer,
    RemindedSerializer,
    RoundSerializer,
)


class RoundFilter(filters.FilterSet):
    # By id, not a choice among all pilots: a choice would tell an unknown pilot (400) from an
    # invisible one (an empty list).
    pilot = filters.NumberFilter(field_name="pilot_id")
    status = filters.ChoiceFilter(choices=FeedbackRound.Status.choices)

    class Meta:
        model = FeedbackRound
        fields = ["pilot", "status"]


class RoundViewSet(viewsets.ReadOnlyModelViewSet):
    """Feedback rounds of the pilots the caller may see; Ops open, remind and close them now."""

    serializer_class = RoundSerializer
    filterset_class = RoundFilter

    def get_queryset(self) -> QuerySet[FeedbackRound]:
        visible = Pilot.objects.visible_to(self.request.user).values("pk")
        return FeedbackRound.objects.filter(pilot__in=visible).order_by(
            "pilot_id", "-period_start", "pk"
        )

    # 404: the pilot in the body is unknown or not the caller's to see.
    @extend_schema(
        request=OpenRoundSerializer, responses={201: RoundSerializer, 404: ErrorSerializer}
    )
    @action(detail=False, methods=["post"])
    def open(self, request: Request, **kwargs) -> Response:
        """Open now the round of a running pilot's current period (Ops)."""
        data = OpenRoundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pilot = Pilot.objects.visible_to(request.user).filter(pk=data.validated_data["pilot"])
        pilot_id = pilot.values_list("pk", flat=True).first()
        if pilot_id is None:
            raise NotFound()
        done = scheduling.open_rounds_now([pilot_id], actor=request.user)
        if pilot_id in done.refused:
            raise done.refused[pilot_id]
        return Response(RoundSerializer(done.opened[0]).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: RemindedSerializer})
    @action(detail=True, methods=["post"])
    def remind(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Queue now the one reminder of the round's unanswered prompts (Ops)."""
        feedback_round = self.get_object()
        queued = scheduling.remind_now(feedback_round.pk, actor=request.user)
        return Response({"round": feedback_round.pk, "reminders": queued})

    @extend_schema(request=None, responses={200: RoundSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Close the round now, before its window ends (Ops)."""
        feedback_round = self.get_object()
        closed = scheduling.close_round_now(feedback_round.pk, actor=request.user)
        return Response(RoundSerializer(closed).data)


class PromptViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own open prompts, and answering one: the inbox's rules, nobody else's."""

    serializer_class = PromptSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Prompt]:
        # Only ever the caller's own prompts: someone else's is a 404. Each says, in the same
        # query, whether the pilot's usage charter is still owed before answering.
        return (
            access.charter_owed(Prompt.objects.all(), self.request.user)
            .filter(participant_id=self.request.user.pk)
            .select_related("round__pilot")
            .order_by("round__closes_at", "pk")
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        now = timezone.now()
        prompts = self.get_queryset().filter(
            round__status=FeedbackRound.Status.OPEN, round__closes_at__gt=now
        )
        page = self.paginate_queryset(prompts)
        questions = {r.pk: answering.questions_for_round(r) for r in {p.round for p in page}}
        serializer = self.get_serializer(page, many=True, context={"questions": questions})
        return self.get_paginated_response(serializer.data)

    def get_serializer(self, *args, **kwargs):
        context = {**self.get_serializer_context(), **kwargs.pop("context", {})}
        return self.get_serializer_class()(*args, context=context, **kwargs)

    # 403 charter_not_acknowledged: the pilot's usage charter must be acknowledged first.
    @extend_schema(
        request=AnswerSerializer, responses={201: AnsweredSerializer, 403: ErrorSerializer}
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        """Answer one of your prompts (or replace a named round's answers), as in the inbox.

        Refused (403, code charter_not_acknowledged, nothing stored) while the pilot's usage
        charter is owed (the prompt's charter_owed).
        """
        prompt = self.get_object()
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answering.submit_response(
            prompt_id=prompt.pk, user=request.user, answers=data.validated_data["answers"]
        )
        return Response({"prompt": prompt.pk, "answered": True}, status=status.HTTP_201_CREATED)
