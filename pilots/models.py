"""The pilot registry: teams, AI tools, pilots and everything that frames an experiment."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Re-exported: the registry's rules rank classifications without importing the models.
from . import access
from .choices import (
    AIActCategory,
    BudgetAction,
    CostModel,
    DataClassification,
    Stage,
    TeamRole,
    TrainsOnData,
)

STAGE_DESCRIPTIONS = {
    Stage.DRAFT: _("The lead is still writing the proposal."),
    Stage.PROPOSED: _("Waiting for Ops review."),
    Stage.SANDBOX: _(
        "Approved to experiment with a small group; no data above the tool's classification."
    ),
    Stage.PILOT: _("A wider group uses it for real work, under guardrails."),
    Stage.APPROVED: _("Adopted: available to every team."),
    Stage.PAUSED: _("Halted; resumes to the stage it was paused from."),
    Stage.STOPPED: _("Ended without adoption."),
    Stage.RETIRED: _("A standard that was withdrawn."),
}

# Stages in which feedback rounds open and the pilot counts as running.
ACTIVE_STAGES = (Stage.SANDBOX, Stage.PILOT, Stage.APPROVED)
# Stages a pilot does not come back from: no more feedback, nothing more to measure.
ENDED_STAGES = (Stage.STOPPED, Stage.RETIRED)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Paris",
        help_text=_("Feedback rounds open at this team's local time."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    Role = TeamRole

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="pilots_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team} ({self.role})"


class AIToolQuerySet(models.QuerySet):
    def usable(self) -> AIToolQuerySet:
        return self.exclude(approval_status=AITool.ApprovalStatus.NOT_ALLOWED)

    def recheck_due(self, today: datetime.date) -> AIToolQuerySet:
        """Tools in use whose facts are past their re-check, or approved while incomplete."""
        from .transparency import incomplete_q, recheck_cutoff

        return self.usable().filter(
            Q(transparency_checked_on__isnull=True)
            | Q(transparency_checked_on__lt=recheck_cutoff(today))
            | (Q(approval_status=AITool.ApprovalStatus.APPROVED) & incomplete_q())
        )


class AITool(models.Model):
    class ApprovalStatus(models.TextChoices):
        APPROVED = "approved", _("Approved")
        UNDER_EVALUATION = "under_evaluation", _("Under evaluation")
        NOT_ALLOWED = "not_allowed", _("Not allowed")

    name = models.CharField(_("name"), max_length=120, unique=True)
    vendor = models.CharField(_("vendor"), max_length=120)
    approval_status = models.CharField(
        _("approval status"),
        max_length=20,
        choices=ApprovalStatus,
        default=ApprovalStatus.UNDER_EVALUATION,
    )
    max_data_classification = models.CharField(
        _("highest data classification"),
        max_length=16,
        choices=DataClassification,
        default=DataClassification.INTERNAL,
        help_text=_("The most sensitive data this tool may receive."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    # Transparency and data ownership (pilots.transparency decides what "complete" means).
    model_name = models.CharField(_("model"), max_length=120, blank=True)
    model_version = models.CharField(
        _("model version"),
        max_length=60,
        blank=True,
        help_text=_("Only where the vendor states it."),
    )
    data_processed_in = models.CharField(
        _("where data is processed"),
        max_length=200,
        blank=True,
        help_text=_("Countries or regions, e.g. 'EU (Ireland, Germany)'."),
    )
    data_stored_in = models.CharField(_("where data is stored"), max_length=200, blank=True)
    vendor_retention = models.CharField(
        _("how long the vendor keeps prompts and outputs"),
        max_length=200,
        blank=True,
        help_text=_("e.g. '30 days for abuse monitoring, then deleted'."),
    )
    trains_on_customer_data = models.CharField(
        _("vendor trains its models on our data"),
        max_length=8,
        choices=TrainsOnData,
        default=TrainsOnData.UNKNOWN,
    )
    output_ownership = models.CharField(_("who owns the outputs"), max_length=200, blank=True)
    model_card_url = models.URLField(_("model card"), max_length=500, blank=True)
    dpa_url = models.URLField(_("data processing agreement"), max_length=500, blank=True)
    security_docs_url = models.URLField(_("security documents"), max_length=500, blank=True)
    transparency_checked_on = models.DateField(_("last checked by Ops"), null=True, blank=True)
    # What the tool costs (pilots.costs): per seat per month, or a flat monthly fee, in
    # COST_CURRENCY; empty when unknown.
    cost_model = models.CharField(
        _("cost model"), max_length=8, choices=CostModel, default=CostModel.NONE
    )
    cost_amount = models.DecimalField(
        _("cost per month"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Per seat, or for the whole company, as the cost model says."),
    )

    objects = AIToolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("AI tool")
        verbose_name_plural = _("AI tools")
        constraints = [
            models.CheckConstraint(
                condition=Q(trains_on_customer_data__in=TrainsOnData.values),
                name="pilots_aitool_trains_on_data_valid",
            ),
            models.CheckConstraint(
                condition=(Q(cost_model=CostModel.NONE) & Q(cost_amount__isnull=True))
                | (Q(cost_model__in=[CostModel.PER_SEAT, CostModel.FLAT]) & Q(cost_amount__gte=0)),
                name="pilots_aitool_cost_amount_iff_cost_model",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tool_detail", args=[self.pk])

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.exceptions import ValidationFailed

        from .transparency import validate_approval

        try:
            validate_approval(self)
        except ValidationFailed as e:
            raise ValidationError({e.field: e.message}, code=e.code) from e


class PilotQuerySet(models.QuerySet):
    def active(self) -> PilotQuerySet:
        return self.filter(stage__in=ACTIVE_STAGES)

    def with_monthly_cost(self, seats=None) -> PilotQuerySet:
        """Annotate `monthly_cost`: the tool's cost for the pilot's participants (pilots.costs).

        `seats`: an expression that already counts them (a query that needs the count for
        something else too), instead of a subquery of its own.
        """
        if seats is None:
            seats = Coalesce(
                models.Subquery(
                    Participation.objects.filter(pilot=models.OuterRef("pk"))
                    .order_by()
                    .values("pilot")
                    .annotate(n=models.Count("pk"))
                    .values("n")[:1]
                ),
                0,
            )
        return self.annotate(
            monthly_cost=models.Case(
                models.When(
                    tool__cost_model=CostModel.PER_SEAT, then=models.F("tool__cost_amount") * seats
                ),
                models.When(tool__cost_model=CostModel.FLAT, then=models.F("tool__cost_amount")),
                default=None,
                output_field=models.DecimalField(max_digits=14, decimal_places=2),
            )
        )

    def over_budget(self) -> PilotQuerySet:
        """Running pilots whose projected monthly cost is above their budget cap."""
        return (
            self.active()
            .filter(budget_cap__isnull=False)
            .with_monthly_cost()
            .filter(monthly_cost__gt=models.F("budget_cap"))
        )

    def visible_to(self, user) -> PilotQuerySet:
        """Pilots a user may see (the rule lives in pilots.access)."""
        return access.visible(self, user)

    def editable_by(self, user) -> PilotQuerySet:
        """Pilots a user may edit as a lead (the rule lives in pilots.access)."""
        return access.editable(self, user)


class Pilot(models.Model):
    class RiskLevel(models.TextChoices):
        MINIMAL = "minimal", _("Minimal")
        LIMITED = "limited", _("Limited")
        HIGH = "high", _("High")

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        BIWEEKLY = "biweekly", _("Every two weeks")
        MONTHLY = "monthly", _("Monthly")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    title = models.CharField(_("title"), max_length=200)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="pilots", verbose_name=_("team")
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_pilots",
        verbose_name=_("lead"),
    )
    tool = models.ForeignKey(
        AITool, on_delete=models.PROTECT, related_name="pilots", verbose_name=_("AI tool")
    )
    problem = models.TextField(_("problem statement"))
    hypothesis_intervention = models.CharField(
        _("we believe that"),
        max_length=300,
        help_text=_("The intervention, e.g. 'using the copilot to draft ticket replies'."),
    )
    hypothesis_outcome = models.CharField(
        _("will"), max_length=300, help_text=_("The expected outcome.")
    )
    hypothesis_who = models.CharField(
        _("for"), max_length=300, help_text=_("The people concerned.")
    )
    hypothesis_signal = models.CharField(
        _("we will know when"),
        max_length=300,
        help_text=_("The success signal: metric M reaches T."),
    )
    data_classification = models.CharField(
        _("data classification"),
        max_length=16,
        choices=DataClassification,
        default=DataClassification.INTERNAL,
    )
    data_description = models.TextField(_("data the tool touches"), blank=True)
    risk_level = models.CharField(
        _("risk level"), max_length=16, choices=RiskLevel, default=RiskLevel.LIMITED
    )
    # The intake questionnaire (pilots.risk): the RiskRule keys the lead ticked; None for a
    # pilot written before it existed (its risk level is then the lead's own choice).
    risk_answers = models.JSONField(_("risk questionnaire answers"), null=True, blank=True)
    ai_act_category = models.CharField(
        _("EU AI Act category"),
        max_length=16,
        choices=AIActCategory,
        blank=True,
        default="",
        help_text=_("Derived from the risk questionnaire; empty when it was not answered."),
    )
    budget_cap = models.DecimalField(
        _("budget cap per month"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Ops are told when the tool's projected monthly cost goes above it."),
    )
    budget_action = models.CharField(
        _("when over budget"),
        max_length=5,
        choices=BudgetAction,
        default=BudgetAction.FLAG,
        help_text=_(
            "Flag the pilot to Ops, or pause it, when its projected monthly cost goes above "
            "the cap."
        ),
    )
    planned_start = models.DateField(_("planned start"))
    planned_end = models.DateField(_("planned end"))
    anonymous_feedback = models.BooleanField(_("anonymous feedback"), default=True)
    cadence = models.CharField(
        _("feedback cadence"), max_length=16, choices=Cadence, default=Cadence.BIWEEKLY
    )
    cadence_weekday = models.PositiveSmallIntegerField(
        _("round opens on"), choices=Weekday, default=Weekday.MONDAY
    )
    response_window_days = models.PositiveSmallIntegerField(_("response window (days)"), default=3)

    # Stage fields are written only by pilots.lifecycle.
    stage = models.CharField(
        _("stage"), max_length=16, choices=Stage, default=Stage.DRAFT, editable=False
    )
    paused_from = models.CharField(
        _("paused from"), max_length=16, choices=Stage, blank=True, default="", editable=False
    )
    stage_changed_at = models.DateTimeField(
        _("in this stage since"), default=timezone.now, editable=False
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("proposed by"),
    )

    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Participation", related_name="pilots", blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PilotQuerySet.as_manager()

    class Meta:
        ordering = ["-stage_changed_at", "pk"]
        verbose_name = _("pilot")
        verbose_name_plural = _("pilots")
        indexes = [models.Index(fields=["stage", "team"], name="pilots_pilot_stage_team")]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__gte=models.F("planned_start")),
                name="pilots_pilot_dates_in_order",
            ),
            models.CheckConstraint(
                condition=(Q(stage=Stage.PAUSED) & Q(paused_from__in=ACTIVE_STAGES))
                | (~Q(stage=Stage.PAUSED) & Q(paused_from="")),
                name="pilots_pilot_paused_from_iff_paused",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="pilots_pilot_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(cadence_weekday__lte=6), name="pilots_pilot_weekday_valid"
            ),
            models.CheckConstraint(
                condition=Q(response_window_days__gte=1) & Q(response_window_days__lte=14),
                name="pilots_pilot_window_1_to_14_days",
            ),
            models.CheckConstraint(
                condition=Q(budget_cap__isnull=True) | Q(budget_cap__gte=0),
                name="pilots_pilot_budget_cap_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(budget_action__in=BudgetAction.values),
                name="pilots_pilot_budget_action_valid",
            ),
            # A prohibited practice (AI Act Art. 5) is refused, never stored.
            models.CheckConstraint(
                condition=Q(
                    ai_act_category__in=[
                        "",
                        AIActCategory.HIGH,
                        AIActCategory.TRANSPARENCY,
                        AIActCategory.MINIMAL,
                    ]
                ),
                name="pilots_pilot_ai_act_category_not_prohibited",
            ),
            models.CheckConstraint(
                condition=~Q(ai_act_category=AIActCategory.HIGH) | Q(risk_level="high"),
                name="pilots_pilot_ai_act_high_is_high_risk",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pilot_detail", args=[self.pk])

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.exceptions import ValidationFailed

        from .registry import validate_anonymity_change, validate_dates, validate_tool_and_data

        try:
            validate_tool_and_data(
                getattr(self, "tool", None) if self.tool_id else None, self.data_classification
            )
            validate_dates(self.planned_start, self.planned_end)
            validate_anonymity_change(self)
        except ValidationFailed as e:
            raise ValidationError({e.field: e.message}, code=e.code) from e

    @property
    def hypothesis(self) -> str:
        return _(
            "We believe that %(intervention)s will %(outcome)s for %(who)s; "
            "we will know when %(signal)s."
        ) % {
            "intervention": self.hypothesis_intervention,
            "outcome": self.hypothesis_outcome,
            "who": self.hypothesis_who,
            "signal": self.hypothesis_signal,
        }

    @property
    def stage_description(self) -> str:
        return STAGE_DESCRIPTIONS[Stage(self.stage)]

    @property
    def days_in_stage(self) -> int:
        return (timezone.now() - self.stage_changed_at).days


class Participation(models.Model):
    class Role(models.TextChoices):
        PARTICIPANT = "participant", _("Participant")
        CHAMPION = "champion", _("Champion")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="participations",
        verbose_name=_("person"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.PARTICIPANT)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["pilot", "user"], name="pilots_participation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.pilot}"


class SuccessMetric(models.Model):
    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(_("name"), max_length=120)
    question_key = models.SlugField(
        _("question key"), max_length=64, help_text=_("The feedback question that measures it.")
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction, default=Direction.HIGHER
    )
    baseline = models.DecimalField(
        _("baseline"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    target = models.DecimalField(_("target"), max_digits=10, decimal_places=2)
    min_responses = models.PositiveIntegerField(
        _("minimum responses"),
        default=10,
        help_text=_("Responses needed before the metric can be judged."),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("success metric")
        verbose_name_plural = _("success metrics")
        constraints = [
            models.CheckConstraint(
                condition=Q(baseline__isnull=True)
                | Q(direction="higher", target__gt=models.F("baseline"))
                | Q(direction="lower", target__lt=models.F("baseline")),
                name="pilots_successmetric_target_improves_on_baseline",
            ),
            models.CheckConstraint(
                condition=Q(min_responses__gte=1),
                name="pilots_successmetric_min_responses_positive",
            ),
            models.UniqueConstraint(
                fields=["pilot", "name"], name="pilots_successmetric_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.exceptions import ValidationFailed

        from .registry import validate_target

        try:
            validate_target(self.direction, self.baseline, self.target)
        except ValidationFailed as e:
            raise ValidationError({e.field: e.message}, code=e.code) from e


class GuardrailQuerySet(models.QuerySet):
    def enabled(self) -> GuardrailQuerySet:
        return self.filter(disabled_at__isnull=True)


class Guardrail(models.Model):
    class Kind(models.TextChoices):
        POLICY = "policy", _("Policy rule")
        METRIC = "metric", _("Metric threshold")

    class Statistic(models.TextChoices):
        MEAN = "mean", _("Mean of the answers")
        YES_COUNT = "yes_count", _("Number of 'yes' answers")
        YES_SHARE = "yes_share", _("Share of 'yes' answers")

    class Comparator(models.TextChoices):
        LT = "lt", "<"
        LE = "le", "≤"
        EQ = "eq", "="
        GE = "ge", "≥"
        GT = "gt", ">"

    class Action(models.TextChoices):
        FLAG = "flag", _("Flag it for Ops")
        PAUSE = "pause", _("Pause the pilot")

    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="guardrails")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind, default=Kind.POLICY)
    description = models.CharField(_("rule"), max_length=300)
    forbids_data_exposure = models.BooleanField(
        _("forbids confidential data exposure"),
        default=False,
        help_text=_("Any incident reported as 'confidential data exposed' breaches it at once."),
    )
    question_key = models.SlugField(_("question key"), max_length=64, blank=True)
    statistic = models.CharField(_("statistic"), max_length=12, choices=Statistic, blank=True)
    comparator = models.CharField(_("must stay"), max_length=2, choices=Comparator, blank=True)
    threshold = models.DecimalField(
        _("threshold"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    action = models.CharField(_("on breach"), max_length=8, choices=Action, default=Action.FLAG)
    # Ops may disable a guardrail that can never be judged (e.g. its question key names no
    # question asked); it is then no longer evaluated. Never deleted: its breaches stay on record.
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("disabled by"),
    )
    disabled_reason = models.TextField(_("why it was disabled"), blank=True, editable=False)

    objects = GuardrailQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("guardrail")
        verbose_name_plural = _("guardrails")
        constraints = [
            models.CheckConstraint(
                condition=Q(disabled_at__isnull=True, disabled_by__isnull=True, disabled_reason="")
                | (Q(disabled_at__isnull=False) & ~Q(disabled_reason="")),
                name="pilots_guardrail_disabled_with_reason",
            ),
            # One threshold per question and statistic (pilots.proposals says why).
            models.UniqueConstraint(
                fields=["pilot", "question_key", "statistic"],
                condition=Q(kind="metric", disabled_at__isnull=True),
                name="pilots_guardrail_one_per_question_and_statistic",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind="policy",
                    question_key="",
                    statistic="",
                    comparator="",
                    threshold__isnull=True,
                )
                | (
                    Q(kind="metric")
                    & ~Q(question_key="")
                    & ~Q(statistic="")
                    & ~Q(comparator="")
                    & Q(threshold__isnull=False)
                ),
                name="pilots_guardrail_metric_fields_iff_metric",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.exceptions import ValidationFailed

        from .registry import validate_guardrail

        try:
            validate_guardrail(
                self.kind,
                question_key=self.question_key,
                statistic=self.statistic,
                comparator=self.comparator,
                threshold=self.threshold,
            )
        except ValidationFailed as e:
            raise ValidationError({e.field: e.message}, code=e.code) from e

    def holds_for(self, value) -> bool:
        """Tell whether an observed value keeps this metric guardrail."""
        t = self.threshold
        return {
            "lt": value < t,
            "le": value <= t,
            "eq": value == t,
            "ge": value >= t,
            "gt": value > t,
        }[self.comparator]


# Causes decisions.guardrails announces (core.followups) when a breach is recorded or resolved:
# a layer beside decisions (webhooks) subscribes to them by these names, importing only pilots.
BREACH_OPENED = "breach_opened"
BREACH_RESOLVED = "breach_resolved"


class GuardrailBreachQuerySet(models.QuerySet):
    def open(self) -> GuardrailBreachQuerySet:
        return self.filter(resolved_at__isnull=True)


class GuardrailBreach(models.Model):
    """An append-only record that a guardrail did not hold; Ops resolve it with a note."""

    class Trigger(models.TextChoices):
        METRIC = "metric", _("Metric threshold")
        EXPOSURE = "exposure", _("Confidential data exposure")

    class ActionTaken(models.TextChoices):
        FLAGGED = "flagged", _("Flagged to Ops")
        PAUSED = "paused", _("Pilot paused")
        PAUSE_REFUSED = "pause_refused", _("Pause refused: the pilot is still running")
        NOT_RUNNING = "not_running", _("Nothing to pause: the pilot was not running")

    # Empty for a metric breach in a round below the anonymity threshold ("withheld"): the record
    # then says only that a guardrail of the pilot broke in that round, never which one, since
    # rules on a handful of answers would tell each of them what the others answered.
    guardrail = models.ForeignKey(
        Guardrail, on_delete=models.PROTECT, null=True, blank=True, related_name="breaches"
    )
    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="breaches")
    round = models.ForeignKey(
        "feedback.FeedbackRound",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="breaches",
    )
    observed_value = models.DecimalField(
        _("value seen"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    # The words as first written (kept for breaches recorded before `rule` existed).
    detail = models.TextField(_("detail"), blank=True)
    # The facts the breach is worded from in each reader's language (pilots.breach_text): the
    # guardrail's rule as it stood, the round's date, and whether its value may be shown.
    rule = models.JSONField(_("rule as evaluated"), default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("detected"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)
    # A metric guardrail breaks once per round; an exposure guardrail again for each further
    # exposure reported after the previous breach was resolved (decisions.guardrails).
    trigger = models.CharField(
        _("trigger"), max_length=8, choices=Trigger, default=Trigger.METRIC, editable=False
    )
    # Exposure breaches: how many exposure reports the round had when it was recorded.
    exposure_reports = models.PositiveIntegerField(
        _("exposure reports seen"), null=True, blank=True, editable=False
    )
    # What the system did about it, as the email and the pages say.
    action_taken = models.CharField(
        _("action taken"),
        max_length=13,
        choices=ActionTaken,
        default=ActionTaken.FLAGGED,
        editable=False,
    )

    objects = GuardrailBreachQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("guardrail breach")
        verbose_name_plural = _("guardrail breaches")
        constraints = [
            # A round breaches a metric guardrail at most once, however often it is evaluated.
            models.UniqueConstraint(
                fields=["guardrail", "round"],
                condition=Q(trigger="metric"),
                name="pilots_guardrailbreach_once_per_round",
            ),
            # An exposure guardrail has at most one open breach per round; a further exposure
            # after its resolution opens a new one.
            models.UniqueConstraint(
                fields=["guardrail", "round"],
                condition=Q(trigger="exposure", resolved_at__isnull=True),
                name="pilots_guardrailbreach_exposure_one_open_per_round",
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=["metric", "exposure"]),
                name="pilots_guardrailbreach_trigger_valid",
            ),
            # Only a metric breach may be withheld (no guardrail named), and it carries no value
            # and always its round; an exposure report names its rule (safety comes first).
            models.CheckConstraint(
                condition=Q(guardrail__isnull=False)
                | Q(trigger="metric", observed_value__isnull=True, round__isnull=False),
                name="pilots_guardrailbreach_withheld_is_a_metric_breach_without_value",
            ),
            # However many guardrails broke in a round below the threshold: one record.
            models.UniqueConstraint(
                fields=["round"],
                condition=Q(trigger="metric", guardrail__isnull=True),
                name="pilots_guardrailbreach_one_withheld_per_round",
            ),
            models.CheckConstraint(
                condition=Q(action_taken__in=["flagged", "paused", "pause_refused", "not_running"]),
                name="pilots_guardrailbreach_action_taken_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolved_by__isnull=True)
                | (Q(resolved_at__isnull=False) & ~Q(resolution_note="")),
                name="pilots_guardrailbreach_resolution_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} @ {self.pilot}"

    @property
    def is_withheld(self) -> bool:
        return self.guardrail_id is None

    @property
    def rule_name(self) -> str:
        """The guardrail's rule, or only that a guardrail broke when the breach is withheld."""
        if self.is_withheld:
            return str(_("A guardrail of this pilot"))
        return self.guardrail.description


class GuardrailCheck(models.Model):
    """What a closed round said of one metric guardrail: holding, broken or not evaluated.

    Written when the round's guardrails are evaluated, and only for rounds that met the
    anonymity threshold: "not evaluated" then means its question got fewer answers than the
    threshold (none at all, e.g. an optional or conditional question nobody answered), so its
    statistic cannot be judged in the open. A round below the threshold records no check.
    """

    class Outcome(models.TextChoices):
        HOLDING = "holding", _("holding")
        BROKEN = "broken", _("broken")
        NOT_EVALUATED = "not_evaluated", _("not evaluated")

    guardrail = models.ForeignKey(Guardrail, on_delete=models.CASCADE, related_name="checks")
    round = models.ForeignKey(
        "feedback.FeedbackRound", on_delete=models.CASCADE, related_name="guardrail_checks"
    )
    outcome = models.CharField(_("outcome"), max_length=13, choices=Outcome)
    observed_value = models.DecimalField(
        _("value seen"), max_digits=12, decimal_places=4, null=True, blank=True
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("guardrail check")
        verbose_name_plural = _("guardrail checks")
        constraints = [
            models.UniqueConstraint(
                fields=["guardrail", "round"], name="pilots_guardrailcheck_once_per_round"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["holding", "broken", "not_evaluated"]),
                name="pilots_guardrailcheck_outcome_valid",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="not_evaluated") | Q(observed_value__isnull=True),
                name="pilots_guardrailcheck_not_evaluated_has_no_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guardrail}: {self.get_outcome_display()}"


class Review(models.Model):
    class Kind(models.TextChoices):
        SECURITY = "security", _("Security")
        LEGAL = "legal", _("Legal")

    class Outcome(models.TextChoices):
        CLEARED = "cleared", _("Cleared")
        CLEARED_WITH_CONDITIONS = "cleared_with_conditions", _("Cleared with conditions")
        REFUSED = "refused", _("Refused")

    CLEARING_OUTCOMES = (Outcome.CLEARED, Outcome.CLEARED_WITH_CONDITIONS)

    # Append-only (a PostgreSQL trigger refuses UPDATE and DELETE): a reviewed pilot is kept.
    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    reviewed_on = models.DateField(_("date"), default=timezone.localdate)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome)
    notes = models.TextField(_("conditions or notes"), blank=True)

    class Meta:
        ordering = ["-reviewed_on", "-pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="cleared_with_conditions") | ~Q(notes=""),
                name="pilots_review_conditions_written",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_outcome_display()}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.exceptions import ValidationFailed

        from .registry import validate_review

        try:
            validate_review(self.outcome, self.notes)
        except ValidationFailed as e:
            raise ValidationError({e.field: e.message}, code=e.code) from e


class StageChange(models.Model):
    """Append-only audit of a stage move: from, to, who (null = the system), when, why."""

    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="stage_changes")
    action = models.CharField(_("action"), max_length=16)
    from_stage = models.CharField(_("from"), max_length=16, choices=Stage)
    to_stage = models.CharField(_("to"), max_length=16, choices=Stage)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    rationale = models.TextField(_("rationale"), blank=True)
    gate_results = models.JSONField(_("gate results"), default=list, blank=True)
    overridden = models.BooleanField(_("gate overridden"), default=False)
    evidence = models.JSONField(_("evidence snapshot"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        get_latest_by = "created_at"
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_stage=models.F("to_stage")), name="pilots_stagechange_moves"
            ),
            models.CheckConstraint(
                condition=Q(overridden=False) | ~Q(rationale=""),
                name="pilots_stagechange_override_has_rationale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot}: {self.from_stage} → {self.to_stage}"


class ConclusionQuerySet(models.QuerySet):
    def visible_to(self, user) -> ConclusionQuerySet:
        """Conclusions of the pilots a user may see (the pilots' access rule, reused)."""
        return self.filter(pilot__in=Pilot.objects.visible_to(user).values("pk"))


class Conclusion(models.Model):
    """What a concluded pilot taught: its outcome, takeaways and recommendations.

    Written by `pilots.lifecycle.move` (through `pilots.conclusions`) with the stop, the
    retirement or the promotion to approved standard that concludes the pilot; one per pilot,
    the latest (a retired standard's conclusion replaces its adoption's, the change record
    keeps both).
    """

    class Outcome(models.TextChoices):
        ADOPTED = "adopted", _("Adopted")
        ADOPTED_WITH_CONDITIONS = "adopted_with_conditions", _("Adopted with conditions")
        NO_VALUE = "no_value", _("Not adopted: no value")
        RISK = "risk", _("Not adopted: risk")
        INCONCLUSIVE = "inconclusive", _("Inconclusive")

    class Recommendation(models.TextChoices):
        GRADUATE = "graduate", _("Graduate")
        RERUN = "rerun", _("Rerun")
        CHANGE_COURSE = "change_course", _("Change course")
        FOLLOW_UP = "follow_up", _("Follow-up pilot")

    pilot = models.OneToOneField(
        Pilot, on_delete=models.PROTECT, related_name="conclusion", verbose_name=_("pilot")
    )
    stage_change = models.OneToOneField(
        StageChange,
        on_delete=models.PROTECT,
        related_name="conclusion",
        verbose_name=_("stage change"),
    )
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome)
    takeaways = models.TextField(_("takeaways"))
    # Recommendation values, several at once; `pilots.conclusions` checks each.
    recommendations = models.JSONField(_("recommendations"), default=list, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("concluded by"),
    )
    concluded_at = models.DateTimeField(_("concluded"))

    objects = ConclusionQuerySet.as_manager()

    class Meta:
        ordering = ["-concluded_at", "pk"]
        verbose_name = _("conclusion")
        verbose_name_plural = _("conclusions")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "adopted",
                        "adopted_with_conditions",
                        "no_value",
                        "risk",
                        "inconclusive",
                    ]
                ),
                name="pilots_conclusion_known_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(takeaways=""), name="pilots_conclusion_has_takeaways"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot}: {self.get_outcome_display()}"

    @property
    def recommendation_labels(self) -> list[str]:
        labels = dict(self.Recommendation.choices)
        return [str(labels.get(r, r)) for r in self.recommendations]


class DecisionRequest(models.Model):
    """A lead asks Ops to promote or stop their pilot, with a message (pilots.decision_requests).

    At most one open request per pilot; the stage move that follows closes it (lifecycle.move),
    whatever Ops decided.
    """

    class Action(models.TextChoices):
        PROMOTE = "promote", _("Promote")
        STOP = "stop", _("Stop")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for Ops")
        CLOSED = "closed", _("Decided")
        DECLINED = "declined", _("Declined by Ops")

    pilot = models.ForeignKey(
        Pilot, on_delete=models.PROTECT, related_name="decision_requests", verbose_name=_("pilot")
    )
    action = models.CharField(_("asks to"), max_length=8, choices=Action)
    message = models.TextField(_("message"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.OPEN)
    # The stage move that answered it (the one that followed, whatever it was).
    stage_change = models.OneToOneField(
        StageChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decision_request",
        verbose_name=_("answered by"),
    )
    # Ops may decline a request without moving the pilot, with a reply the lead is told.
    reply = models.TextField(_("reply"), blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declined by"),
    )
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        verbose_name = _("decision request")
        verbose_name_plural = _("decision requests")
        constraints = [
            models.UniqueConstraint(
                fields=["pilot"],
                condition=Q(status="open"),
                name="pilots_decisionrequest_one_open_per_pilot",
            ),
            models.CheckConstraint(
                condition=Q(action__in=["promote", "stop"]),
                name="pilots_decisionrequest_known_action",
            ),
            models.CheckConstraint(
                condition=~Q(message=""), name="pilots_decisionrequest_has_message"
            ),
            models.CheckConstraint(
                condition=Q(status="open", stage_change__isnull=True)
                | Q(status="closed", stage_change__isnull=False)
                | Q(status="declined", stage_change__isnull=True),
                name="pilots_decisionrequest_closed_iff_answered",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined")
                | (~Q(reply="") & Q(declined_by__isnull=False, declined_at__isnull=False)),
                name="pilots_decisionrequest_declined_with_a_reply",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot}: {self.get_action_display()}"


class ApprovedUseQuerySet(models.QuerySet):
    def current(self) -> ApprovedUseQuerySet:
        """The uses of standards still in force (approved, or paused from approved)."""
        return self.filter(
            Q(pilot__stage=Stage.APPROVED)
            | Q(pilot__stage=Stage.PAUSED, pilot__paused_from=Stage.APPROVED)
        )

    def due_for_recertification(self, today) -> ApprovedUseQuerySet:
        """Standards in force whose re-certification date has passed."""
        return self.current().filter(recertify_on__lt=today)


class ApprovedUse(models.Model):
    """The scope of an approved standard: for which use, which data, which teams, until when.

    Written with the promotion to approved standard (pilots.approvals, called by
    lifecycle.move in its transaction); Ops re-certify it with a new date
    (approvals.recertify). No teams means every team.
    """

    pilot = models.OneToOneField(
        Pilot, on_delete=models.PROTECT, related_name="approved_use", verbose_name=_("pilot")
    )
    stage_change = models.OneToOneField(
        StageChange,
        on_delete=models.PROTECT,
        related_name="approved_use",
        verbose_name=_("stage change"),
    )
    use = models.TextField(_("approved use"))
    max_data_classification = models.CharField(
        _("highest data classification"), max_length=16, choices=DataClassification
    )
    teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="approved_uses",
        verbose_name=_("teams"),
        help_text=_("Leave empty for every team."),
    )
    recertify_on = models.DateField(_("re-certify by"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"))
    recertified_at = models.DateTimeField(_("last re-certified"), null=True, blank=True)

    objects = ApprovedUseQuerySet.as_manager()

    class Meta:
        ordering = ["recertify_on", "pk"]
        verbose_name = _("approved use")
        verbose_name_plural = _("approved uses")
        constraints = [
            models.CheckConstraint(condition=~Q(use=""), name="pilots_approveduse_has_use"),
            models.CheckConstraint(
                condition=Q(
                    max_data_classification__in=["public", "internal", "confidential", "restricted"]
                ),
                name="pilots_approveduse_known_classification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot}: {self.use[:60]}"


class ToolDeclarationQuerySet(models.QuerySet):
    def named(self) -> ToolDeclarationQuerySet:
        """Declarations that name their person: the only ones listed one by one."""
        return self.filter(declared_by__isnull=False)


class ToolDeclaration(models.Model):
    """An AI tool someone already uses, declared without blame (shadow AI made visible)."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        REGISTERED = "registered", _("Turned into a registered tool")
        PILOTED = "piloted", _("Turned into a draft pilot")
        DISMISSED = "dismissed", _("Dismissed")

    # Empty for an anonymous declaration (shadow-AI amnesty): it never names the person.
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tool_declarations",
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tool_declarations",
        verbose_name=_("team"),
    )
    tool_name = models.CharField(_("tool"), max_length=120)
    vendor = models.CharField(_("vendor"), max_length=120, blank=True)
    used_for = models.TextField(_("what you use it for"))
    data_classification = models.CharField(
        _("most sensitive data you give it"),
        max_length=16,
        choices=DataClassification,
        default=DataClassification.INTERNAL,
    )
    created_at = models.DateTimeField(_("declared"), default=timezone.now)
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.NEW)
    tool = models.ForeignKey(
        AITool, on_delete=models.SET_NULL, null=True, blank=True, related_name="declarations"
    )
    pilot = models.ForeignKey(
        Pilot, on_delete=models.SET_NULL, null=True, blank=True, related_name="declarations"
    )
    # Who handled it, when, and what Ops told the person (required to dismiss).
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True, editable=False)
    ops_note = models.TextField(_("note from Ops"), blank=True)

    objects = ToolDeclarationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("tool declaration")
        verbose_name_plural = _("tool declarations")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(ops_note=""),
                name="pilots_tooldeclaration_dismissal_has_note",
            ),
            models.CheckConstraint(
                condition=Q(status="new", handled_at__isnull=True)
                | (~Q(status="new") & Q(handled_at__isnull=False)),
                name="pilots_tooldeclaration_handled_iff_not_new",
            ),
        ]

    def __str__(self) -> str:
        return self.tool_name


class PilotTemplate(models.Model):
    """A pilot to start from: what worked, kept by Ops for leads to propose again.

    Written by `pilots.pilot_templates` (saved from a pilot, or written in the admin), which
    checks its rows as a proposal's. Metrics, guardrails and the pilot's own questions are
    kept as data (the rows of a proposal, `pilots.proposals.METRIC_FIELDS`…): a template
    measures nothing itself, a new draft gets real rows when the lead saves it.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(
        _("when to use it"), blank=True, help_text=_("What it is for, what it taught.")
    )
    tool = models.ForeignKey(
        AITool,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="templates",
        verbose_name=_("AI tool"),
    )
    hypothesis_intervention = models.CharField(_("we believe that"), max_length=300, blank=True)
    hypothesis_outcome = models.CharField(_("will"), max_length=300, blank=True)
    hypothesis_who = models.CharField(_("for"), max_length=300, blank=True)
    hypothesis_signal = models.CharField(_("we will know when"), max_length=300, blank=True)
    data_classification = models.CharField(
        _("data classification"),
        max_length=16,
        choices=DataClassification,
        default=DataClassification.INTERNAL,
    )
    data_description = models.TextField(_("data the tool touches"), blank=True)
    risk_level = models.CharField(
        _("risk level"), max_length=16, choices=Pilot.RiskLevel, default=Pilot.RiskLevel.LIMITED
    )
    anonymous_feedback = models.BooleanField(_("anonymous feedback"), default=True)
    cadence = models.CharField(
        _("feedback cadence"),
        max_length=16,
        choices=Pilot.Cadence,
        default=Pilot.Cadence.BIWEEKLY,
    )
    cadence_weekday = models.PositiveSmallIntegerField(
        _("round opens on"), choices=Pilot.Weekday, default=Pilot.Weekday.MONDAY
    )
    response_window_days = models.PositiveSmallIntegerField(_("response window (days)"), default=3)
    metrics = models.JSONField(_("success metrics"), default=list, blank=True)
    guardrails = models.JSONField(_("guardrails"), default=list, blank=True)
    questions = models.JSONField(_("own questions"), default=list, blank=True)
    source_pilot = models.ForeignKey(
        Pilot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("saved from"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("pilot template")
        verbose_name_plural = _("pilot templates")
        constraints = [
            models.CheckConstraint(
                condition=Q(cadence_weekday__lte=6), name="pilots_pilottemplate_weekday_valid"
            ),
            models.CheckConstraint(
                condition=Q(response_window_days__gte=1) & Q(response_window_days__lte=14),
                name="pilots_pilottemplate_window_1_to_14_days",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="pilots_pilottemplate_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RiskRule(models.Model):
    """One answer of the intake risk questionnaire and what the EU AI Act makes of it.

    Shipped by migration (pilots.0019_risk_rules) from Regulation (EU) 2024/1689; read-only in
    the admin. pilots.risk derives a pilot's category from the rules its lead ticked.
    """

    Category = AIActCategory

    class Question(models.TextChoices):
        PRACTICES = "practices", _("Will the tool be used to do any of these?")
        DECISIONS = "decisions", _("Will it decide, or help people decide, about any of these?")
        DISCLOSURE = "disclosure", _("Will it do any of these?")

    key = models.SlugField(_("key"), max_length=60, unique=True)
    question = models.CharField(_("question"), max_length=16, choices=Question)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    answer_en = models.CharField(_("answer (English)"), max_length=300)
    answer_fr = models.CharField(_("answer (French)"), max_length=300)
    category = models.CharField(_("EU AI Act category"), max_length=16, choices=AIActCategory)
    article = models.CharField(_("article"), max_length=60)
    explanation_en = models.TextField(_("explanation (English)"))
    explanation_fr = models.TextField(_("explanation (French)"))

    class Meta:
        ordering = ["question", "position", "key"]
        verbose_name = _("risk rule")
        verbose_name_plural = _("risk rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=AIActCategory.values),
                name="pilots_riskrule_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(question__in=["practices", "decisions", "disclosure"]),
                name="pilots_riskrule_question_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article}: {self.answer_en}"
