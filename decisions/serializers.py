"""Serializers of the read-only API and of the move endpoint's input."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pilots import lifecycle
from pilots.models import (
    AITool,
    Conclusion,
    Guardrail,
    Participation,
    Pilot,
    Stage,
    StageChange,
    SuccessMetric,
    Team,
)
from pilots.tools import TOOL_FIELDS

from . import evidence


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug"]


class AIToolSerializer(serializers.ModelSerializer):
    class Meta:
        model = AITool
        fields = ["id", *TOOL_FIELDS]


class SuccessMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = SuccessMetric
        fields = ["id", "name", "question_key", "direction", "baseline", "target", "min_responses"]


class GuardrailSerializer(serializers.ModelSerializer):
    class Meta:
        model = Guardrail
        fields = [
            "id",
            "kind",
            "description",
            "forbids_data_exposure",
            "question_key",
            "statistic",
            "comparator",
            "threshold",
            "action",
        ]


class ParticipationSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Participation
        fields = ["username", "role", "joined_at"]


class PausedFromField(serializers.ChoiceField):
    """The stage a paused pilot resumes to; null (never "") when it is not paused."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Stage.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class ConclusionSerializer(serializers.ModelSerializer):
    """What a concluded pilot taught (null until a stop, retirement or promotion to standard)."""

    class Meta:
        model = Conclusion
        fields = ["outcome", "takeaways", "recommendations", "concluded_at"]
        read_only_fields = fields


class PilotSerializer(serializers.ModelSerializer):
    team = TeamSerializer(read_only=True)
    paused_from = PausedFromField()
    tool = AIToolSerializer(read_only=True)
    lead = serializers.CharField(source="lead.username", read_only=True)
    hypothesis = serializers.CharField(read_only=True)
    metrics = SuccessMetricSerializer(many=True, read_only=True)
    guardrails = GuardrailSerializer(many=True, read_only=True)
    participants = ParticipationSerializer(source="participations", many=True, read_only=True)
    # A pilot with no conclusion has no related row: allow_null answers null for it.
    conclusion = ConclusionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Pilot
        fields = [
            "id",
            "title",
            "team",
            "lead",
            "tool",
            "problem",
            "hypothesis",
            "data_classification",
            "risk_level",
            "planned_start",
            "planned_end",
            "anonymous_feedback",
            "cadence",
            "stage",
            "paused_from",
            "stage_changed_at",
            "metrics",
            "guardrails",
            "participants",
            "conclusion",
        ]
        read_only_fields = fields


class StageChangeSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = StageChange
        fields = [
            "id",
            "pilot",
            "action",
            "from_stage",
            "to_stage",
            "actor",
            "created_at",
            "rationale",
            "gate_results",
            "overridden",
            "evidence",
        ]
        read_only_fields = fields

    def get_actor(self, obj: StageChange) -> str | None:
        return obj.actor.get_username() if obj.actor_id else None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_evidence(self, obj: StageChange) -> dict:
        # The stored figures, with each `reason` worded in the request's language.
        return evidence.worded_snapshot(obj.evidence)


class ApprovalInputSerializer(serializers.Serializer):
    """The scope of a promotion to approved standard; pilots.approvals checks it (the admin's
    codes and fields: use, max_data_classification, teams, recertify_on)."""

    use = serializers.CharField(required=False, allow_blank=True, default="")
    max_data_classification = serializers.CharField(required=False, allow_blank=True, default="")
    teams = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        default=list,
        help_text="Team ids; empty: every team.",
    )
    recertify_on = serializers.DateField(required=False, allow_null=True, default=None)


class ConclusionInputSerializer(serializers.Serializer):
    """A concluding move's conclusion; pilots.conclusions checks it (same codes as the admin).

    A promotion to approved standard also needs `approval`, its scope.
    """

    outcome = serializers.CharField(allow_blank=True)
    takeaways = serializers.CharField(allow_blank=True, trim_whitespace=False)
    recommendations = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    approval = ApprovalInputSerializer(required=False, allow_null=True, default=None)


class MoveSerializer(serializers.Serializer):
    """Input of POST /api/pilots/{id}/move/: what the caller wants and the stage they saw.

    `conclusion` is required by stop, retire and promote to approved standard, refused
    otherwise (by the lifecycle, with the field it concerns).
    """

    action = serializers.ChoiceField(choices=list(lifecycle.ACTION_LABELS))
    expected_stage = serializers.ChoiceField(choices=Stage.choices)
    rationale = serializers.CharField(required=False, allow_blank=True, default="")
    override = serializers.BooleanField(required=False, default=False)
    conclusion = ConclusionInputSerializer(required=False, allow_null=True, default=None)
