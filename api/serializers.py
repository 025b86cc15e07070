"""Serializers of API v1: what goes out, and the input of each write (parsed, then handed to
the domain function that checks the rules, exactly as the web form's data is)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.models import ChangeRecord
from decisions.serializers import (
    AIToolSerializer,
    PilotSerializer,
)
from feedback.api import FeedbackRoundSerializer
from feedback.models import Prompt
from pilots import breach_text, proposals, tools
from pilots.models import (
    AITool,
    Guardrail,
    GuardrailBreach,
    Pilot,
    Review,
    SuccessMetric,
    Team,
    ToolDeclaration,
)


class PilotV1Serializer(PilotSerializer):
    """A pilot with the hypothesis parts its draft is edited by."""

    # The answer keys ticked in the risk questionnaire; null when it was never answered.
    risk_answers = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True
    )
    # Empty until the risk questionnaire is answered: a plain string keeps "" inside the schema.
    ai_act_category = serializers.CharField(
        read_only=True,
        help_text="EU AI Act category derived from risk_answers: high, transparency, minimal, "
        "or empty when not answered.",
    )

    class Meta(PilotSerializer.Meta):
        fields = [
            *PilotSerializer.Meta.fields,
            "hypothesis_intervention",
            "hypothesis_outcome",
            "hypothesis_who",
            "hypothesis_signal",
            "data_description",
            "cadence_weekday",
            "response_window_days",
            "risk_answers",
            "ai_act_category",
            "budget_cap",
            "budget_action",
        ]
        read_only_fields = fields


class MetricInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    question_key = serializers.CharField(max_length=64)
    direction = serializers.ChoiceField(
        choices=SuccessMetric.Direction.choices, default=SuccessMetric.Direction.HIGHER
    )
    baseline = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    target = serializers.DecimalField(max_digits=10, decimal_places=2)
    min_responses = serializers.IntegerField(min_value=1, max_value=100000, default=10)


class GuardrailInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Guardrail.Kind.choices, default=Guardrail.Kind.POLICY)
    description = serializers.CharField(max_length=300)
    forbids_data_exposure = serializers.BooleanField(default=False)
    question_key = serializers.CharField(max_length=64, required=False, allow_blank=True)
    statistic = serializers.CharField(max_length=12, required=False, allow_blank=True)
    comparator = serializers.CharField(max_length=2, required=False, allow_blank=True)
    threshold = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    action = serializers.ChoiceField(
        choices=Guardrail.Action.choices, default=Guardrail.Action.FLAG
    )


class ProposalSerializer(serializers.ModelSerializer):
    """A draft's fields, metrics, guardrails and participants (usernames), as on the web form.

    Types and lengths are checked here; every rule (team lead, tool and data ceiling, dates,
    metric targets, questions asked, participants in the team) by pilots.proposals.
    """

    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    tool = serializers.PrimaryKeyRelatedField(queryset=AITool.objects.usable())
    metrics = MetricInputSerializer(many=True, required=False)
    guardrails = GuardrailInputSerializer(many=True, required=False)
    participants = serializers.SlugRelatedField(
        many=True,
        required=False,
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
    )
    # The intake risk questionnaire: the keys of the answers ticked (listed in the README and
    # the admin's Risk rules). The risk level and AI Act category follow from them
    # (pilots.risk); without them the risk level is as given.
    risk_answers = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, allow_null=True
    )

    class Meta:
        model = Pilot
        fields = ["team", *proposals.PILOT_FIELDS, "metrics", "guardrails", "participants"]
        read_only_fields = ["ai_act_category"]

    def to_proposal(self) -> tuple[Team | None, proposals.Proposal]:
        data = dict(self.validated_data)
        team = data.pop("team", None)
        metrics = [dict(row) for row in data.pop("metrics", [])]
        guardrails = [dict(row) for row in data.pop("guardrails", [])]
        participants = data.pop("participants", [])
        return team, proposals.Proposal(
            fields=data, metrics=metrics, guardrails=guardrails, participants=participants
        )


class SubmitSerializer(serializers.Serializer):
    expected_stage = serializers.ChoiceField(choices=["draft"], default="draft")


class ChangeRecordSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRecord
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "subject",
            "subject_id",
            "changes",
            "reason",
        ]
        read_only_fields = fields

    def get_actor(self, obj: ChangeRecord) -> str | None:
        return obj.actor.get_username() if obj.actor_id else None

    def get_subject(self, obj: ChangeRecord) -> str:
        return obj.subject_type.model


# A round as the read API has always served it (one serializer for /api/ and /api/v1/).
RoundSerializer = FeedbackRoundSerializer


class OpenRoundSerializer(serializers.Serializer):
    pilot = serializers.IntegerField(min_value=1)


class RefusalSerializer(serializers.Serializer):
    pilot = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()


class RoundsOpenedSerializer(serializers.Serializer):
    opened = RoundSerializer(many=True)
    refused = RefusalSerializer(many=True)


class RemindedSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    reminders = serializers.IntegerField()


class PromptSerializer(serializers.ModelSerializer):
    """One of the caller's own prompts (never anyone else's)."""

    pilot = serializers.IntegerField(source="round.pilot_id", read_only=True)
    pilot_title = serializers.CharField(source="round.pilot.title", read_only=True)
    round = serializers.IntegerField(source="round_id", read_only=True)
    closes_at = serializers.DateTimeField(source="round.closes_at", read_only=True)
    anonymous = serializers.BooleanField(source="round.anonymous", read_only=True)
    charter_owed = serializers.BooleanField(
        read_only=True,
        help_text="True while the pilot's usage charter must be acknowledged (on its /charter/ "
        "page) before answering: answering is refused with charter_not_acknowledged.",
    )
    questions = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = [
            "id",
            "round",
            "pilot",
            "pilot_title",
            "closes_at",
            "anonymous",
            "answered",
            "charter_owed",
            "questions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_questions(self, obj: Prompt) -> list[dict]:
        questions = self.context.get("questions", {}).get(obj.round_id, [])
        return [
            {
                "key": q.key,
                "kind": q.kind,
                "text": q.text,
                "required": q.required,
                "shown_if_key": q.shown_if_key or None,
            }
            for q in questions
        ]


class AnswerSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(), help_text="Answers by question key, as the inbox form."
    )


class AnsweredSerializer(serializers.Serializer):
    prompt = serializers.IntegerField()
    answered = serializers.BooleanField()


class ToolInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AITool
        fields = list(tools.TOOL_FIELDS)


class DeclarationSerializer(serializers.ModelSerializer):
    declared_by = serializers.SerializerMethodField()
    # Null when the declarer belongs to no team (Ops, often).
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = ToolDeclaration
        fields = [
            "id",
            "declared_by",
            "team",
            "tool_name",
            "vendor",
            "used_for",
            "data_classification",
            "created_at",
            "status",
            "tool",
            "pilot",
            "handled_at",
            "ops_note",
        ]
        read_only_fields = fields

    def get_declared_by(self, obj: ToolDeclaration) -> str:
        return obj.declared_by.get_username()


class DeclareSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=120)
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    used_for = serializers.CharField()
    data_classification = serializers.ChoiceField(
        choices=ToolDeclaration._meta.get_field("data_classification").choices
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True)


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "pilot", "kind", "outcome", "notes", "reviewed_on", "reviewer"]
        read_only_fields = fields

    def get_reviewer(self, obj: Review) -> str | None:
        return obj.reviewer.get_username() if obj.reviewer_id else None


class ReviewInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Review.Kind.choices)
    outcome = serializers.ChoiceField(choices=Review.Outcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    reviewed_on = serializers.DateField(required=False, allow_null=True, default=None)


class BreachSerializer(serializers.ModelSerializer):
    """A breach as the pages word it (breach_text): a value withheld there is withheld here."""

    resolved_by = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()

    class Meta:
        model = GuardrailBreach
        fields = [
            "id",
            "pilot",
            "guardrail",
            "round",
            "description",
            "created_at",
            "trigger",
            "action_taken",
            "resolved_at",
            "resolved_by",
            "resolution_note",
        ]
        read_only_fields = fields

    def get_description(self, obj: GuardrailBreach) -> str:
        return breach_text.describe(obj)

    def get_resolved_by(self, obj: GuardrailBreach) -> str | None:
        return obj.resolved_by.get_username() if obj.resolved_by_id else None


__all__ = ["AIToolSerializer"]
