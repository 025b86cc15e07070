"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from core.ops import OPS_GROUP
from feedback.models import FeedbackRound, Question, Questionnaire
from governance.models import Acknowledgement, CharterVersion
from pilots.models import (
    AITool,
    Conclusion,
    Guardrail,
    Membership,
    Participation,
    Pilot,
    Review,
    StageChange,
    SuccessMetric,
    Team,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        # Post-generation hooks (groups) write their own rows; no second save of the user.
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw")


class OpsUserFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def ops_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            # The group exists from migration pilots 0008 (which lets it view users) unless a
            # transactional test flushed it.
            group, _ = Group.objects.get_or_create(name=OPS_GROUP)
            if not group.permissions.filter(content_type__app_label="pilots").exists():
                # As seed_demo sets it up: Ops may use the admin of the app models.
                group.permissions.add(
                    *Permission.objects.filter(content_type__app_label__in=["pilots", "feedback"])
                )
            self.groups.add(group)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    timezone = "Europe/Paris"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class AIToolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AITool
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tool {n}")
    vendor = "Acme AI"
    approval_status = AITool.ApprovalStatus.UNDER_EVALUATION
    max_data_classification = "confidential"

    class Params:
        # Every transparency fact an approved tool needs, checked today.
        transparent = factory.Trait(
            model_name="Acme-LM",
            model_version="2.1",
            data_processed_in="EU (Ireland)",
            data_stored_in="EU (Ireland)",
            vendor_retention="30 days, then deleted",
            trains_on_customer_data="no",
            output_ownership="The customer owns all outputs",
            model_card_url="https://vendor.example/model-card",
            dpa_url="https://vendor.example/dpa",
            security_docs_url="https://vendor.example/security",
            transparency_checked_on=factory.LazyFunction(timezone.localdate),
        )


class PilotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pilot
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Pilot {n}")
    team = factory.SubFactory(TeamFactory)
    lead = factory.SubFactory(UserFactory)
    tool = factory.SubFactory(AIToolFactory)
    problem = "Ticket replies take too long."
    hypothesis_intervention = "using the copilot to draft ticket replies"
    hypothesis_outcome = "cut reply time"
    hypothesis_who = "support agents"
    hypothesis_signal = "median reply time falls below 10 minutes"
    data_classification = "internal"
    risk_level = Pilot.RiskLevel.LIMITED
    # Long begun, so that rounds open in any test that does not set the dates itself.
    planned_start = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=365)
    )
    planned_end = factory.LazyAttribute(
        lambda p: max(
            p.planned_start + datetime.timedelta(days=90),
            timezone.localdate() + datetime.timedelta(days=365),
        )
    )
    stage = "draft"

    @factory.post_generation
    def complete(self, create: bool, extracted, **kwargs) -> None:
        """`PilotFactory(complete=True)`: a draft that may be submitted (a metric, a guardrail
        and a participant of its team), as the lifecycle requires of every submission."""
        if not (create and extracted):
            return
        SuccessMetricFactory(pilot=self)
        GuardrailFactory(pilot=self)
        participant = UserFactory()
        MembershipFactory(team=self.team, user=participant)
        ParticipationFactory(pilot=self, user=participant)


class StoppedStageChangeFactory(factory.django.DjangoModelFactory):
    """The stop that concluded a pilot, as the lifecycle records it (for library tests)."""

    class Meta:
        model = StageChange

    pilot = factory.SubFactory(PilotFactory, stage="stopped")
    action = "stop"
    from_stage = "pilot"
    to_stage = "stopped"
    actor = factory.SubFactory(UserFactory)
    rationale = "Decided at the Ops review."
    evidence = factory.LazyFunction(dict)


class ConclusionFactory(factory.django.DjangoModelFactory):
    """A stopped pilot's conclusion; `lifecycle.move` writes real ones (tested there)."""

    class Meta:
        model = Conclusion

    stage_change = factory.SubFactory(StoppedStageChangeFactory)
    pilot = factory.SelfAttribute("stage_change.pilot")
    outcome = Conclusion.Outcome.NO_VALUE
    takeaways = "Agents kept rewriting the drafts."
    recommendations = factory.LazyFunction(list)
    concluded_by = factory.SelfAttribute("stage_change.actor")
    concluded_at = factory.SelfAttribute("stage_change.created_at")


class ParticipationFactory(factory.django.DjangoModelFactory):
    """A participant who, like the demo's people, acknowledged the current charter (if any).

    `ParticipationFactory(acknowledged=False)` makes one who has not: no invitation reaches
    them while a charter version is published.
    """

    class Meta:
        model = Participation

    pilot = factory.SubFactory(PilotFactory)
    user = factory.SubFactory(UserFactory)

    # Not a post-generation hook: factory_boy logs those with the participation (and so the
    # person's name), which the anonymity tests look for in the logs.
    @classmethod
    def _create(cls, model_class, *args, acknowledged: bool = True, **kwargs):
        participation = super()._create(model_class, *args, **kwargs)
        version = CharterVersion.objects.current() if acknowledged else None
        if version is not None:
            Acknowledgement.objects.get_or_create(
                user=participation.user, version=version, pilot=participation.pilot
            )
        return participation


class CharterVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CharterVersion

    number = factory.Sequence(lambda n: n + 1)
    body_en = "# AI usage charter\n\nNo confidential data in prompts."
    body_fr = "# Charte d’usage de l’IA\n\nPas de données confidentielles dans les requêtes."


class SuccessMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SuccessMetric

    pilot = factory.SubFactory(PilotFactory)
    name = factory.Sequence(lambda n: f"Metric {n}")
    question_key = "quality"
    direction = SuccessMetric.Direction.HIGHER
    baseline = Decimal("3.0")
    target = Decimal("3.5")
    min_responses = 10


class GuardrailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardrail

    pilot = factory.SubFactory(PilotFactory)
    kind = Guardrail.Kind.POLICY
    description = "A human reviews every output before it is sent."


class MetricGuardrailFactory(GuardrailFactory):
    kind = Guardrail.Kind.METRIC
    description = "Trust must stay at 3 or above."
    question_key = "trust"
    statistic = Guardrail.Statistic.MEAN
    comparator = Guardrail.Comparator.GE
    threshold = Decimal("3")
    action = Guardrail.Action.PAUSE


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    pilot = factory.SubFactory(PilotFactory)
    kind = Review.Kind.SECURITY
    reviewer = factory.SubFactory(OpsUserFactory)
    outcome = Review.Outcome.CLEARED


class QuestionnaireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Questionnaire

    slug = factory.Sequence(lambda n: f"questionnaire-{n}")
    name = factory.Sequence(lambda n: f"Questionnaire {n}")
    version = 1


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    questionnaire = factory.SubFactory(QuestionnaireFactory)
    key = factory.Sequence(lambda n: f"q{n}")
    text = factory.Sequence(lambda n: f"Question {n}?")
    kind = Question.Kind.SCALE
    min_value = Decimal("1")
    max_value = Decimal("5")


class FeedbackRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackRound

    pilot = factory.SubFactory(PilotFactory, stage="sandbox")
    questionnaire = factory.LazyFunction(
        lambda: (
            Questionnaire.objects.filter(is_default=True, is_current=True).first()
            or QuestionnaireFactory()
        )
    )
    period_start = factory.LazyFunction(timezone.localdate)
    opens_at = factory.LazyFunction(timezone.now)
    closes_at = factory.LazyAttribute(lambda r: r.opens_at + datetime.timedelta(days=3))
    # As scheduling.open_due_rounds does: the round keeps the pilot's setting when it opens.
    anonymous = factory.LazyAttribute(lambda r: r.pilot.anonymous_feedback)


# --- Prompts, responses and answers (feedback answering) ---------------------------------------


class PromptFactory(factory.django.DjangoModelFactory):
    """A prompt; pass token_hash=tokens.hash_token(token) to know its token."""

    class Meta:
        model = "feedback.Prompt"

    round = factory.SubFactory(FeedbackRoundFactory)
    participant = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: _new_token_hash())


def _new_token_hash() -> str:
    from feedback.tokens import make_token

    return make_token()[1]


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Response"

    round = factory.SubFactory(FeedbackRoundFactory)


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Answer"

    response = factory.SubFactory(ResponseFactory)
    question = factory.SubFactory(QuestionFactory)
    number = Decimal("4")


def pulse_questionnaire() -> Questionnaire:
    """Return the default "AI pilot pulse" questionnaire, creating it if no migration did."""
    existing = Questionnaire.objects.filter(is_default=True, is_current=True).first()
    if existing is not None and existing.questions.filter(key="incident_kind").exists():
        return existing
    built = Questionnaire.objects.filter(slug="pulse-test").first()
    if built is not None:
        return built
    questionnaire = QuestionnaireFactory(
        slug="pulse-test", name="AI pilot pulse (tests)", is_default=existing is None
    )
    kinds = [
        (
            "minutes_saved",
            Question.Kind.NUMBER,
            {"min_value": 0, "max_value": 2400, "unit": "minutes"},
        ),
        ("quality", Question.Kind.SCALE, {"min_value": 1, "max_value": 5}),
        ("trust", Question.Kind.SCALE, {"min_value": 1, "max_value": 5}),
        ("recommend", Question.Kind.SCALE, {"min_value": 0, "max_value": 10}),
        ("incident", Question.Kind.YES_NO, {}),
        (
            "incident_kind",
            Question.Kind.CHOICE,
            {
                "choices": [
                    ["confidential_data_exposed", "Confidential data exposed"],
                    ["wrong_output_acted_on", "Wrong output acted on"],
                    ["other", "Other"],
                ],
                "shown_if_key": "incident",
                "shown_if_value": "yes",
                "required": False,
            },
        ),
        (
            "incident_description",
            Question.Kind.TEXT,
            {"shown_if_key": "incident", "shown_if_value": "yes", "required": False},
        ),
        ("comment", Question.Kind.TEXT, {"required": False}),
    ]
    for position, (key, kind, extra) in enumerate(kinds, start=1):
        extra = {"min_value": None, "max_value": None, **extra}
        QuestionFactory(
            questionnaire=questionnaire,
            key=key,
            kind=kind,
            position=position,
            text=f"{key}?",
            **extra,
        )
    return questionnaire


def migrated_pulse() -> Questionnaire:
    """Return "AI pilot pulse" as its data migrations made it, French included.

    A transactional test flushes the migrated rows; the migrations' own functions re-create
    them, so every test sees the questionnaire a real installation has.
    """
    import importlib

    from django.apps import apps

    existing = Questionnaire.objects.filter(slug="ai-pilot-pulse").order_by("-version").first()
    if existing is not None:
        return existing
    importlib.import_module("feedback.migrations.0003_ai_pilot_pulse_questionnaire").create_pulse(
        apps, None
    )
    importlib.import_module("feedback.migrations.0006_ai_pilot_pulse_in_french").add_french(
        apps, None
    )
    return Questionnaire.objects.get(slug="ai-pilot-pulse")


def findings_for(stage: str, action: str, **overrides):
    """A valid conclusion for this move, or None when the move concludes nothing."""
    from core.exceptions import IllegalTransition
    from pilots import conclusions, lifecycle

    try:
        transition = lifecycle.find_transition(stage, action)
    except IllegalTransition:
        return None  # the move will be refused for that: no conclusion to give
    if not transition.concludes:
        return None
    values = {
        "outcome": conclusions.OUTCOMES_BY_TARGET[transition.target][0],
        "takeaways": "It taught us something worth writing down.",
        "recommendations": ("rerun",),
        "approval": approval_scope() if transition.target == "approved" else None,
        **overrides,
    }
    return conclusions.Findings.build(**values)


def approval_scope(**overrides):
    """A valid scope for a promotion to approved standard (pilots.approvals)."""
    from pilots import approvals

    values = {
        "use": "Drafting replies to customer tickets.",
        "max_data_classification": "internal",
        "recertify_on": timezone.localdate() + datetime.timedelta(days=365),
        "teams": (),
        **overrides,
    }
    return approvals.Scope.build(**values)
