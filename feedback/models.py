"""Questionnaires, feedback rounds, prompts and (possibly anonymous) responses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .anonymity import anonymity_threshold


class Questionnaire(models.Model):
    """A versioned set of questions. Once a round used a version, its questions are frozen."""

    slug = models.SlugField(_("slug"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=120)
    is_current = models.BooleanField(
        _("current version"),
        default=True,
        help_text=_("New rounds use the current version of the questionnaire."),
    )
    is_default = models.BooleanField(_("default for new pilots"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["slug", "-version"]
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        constraints = [
            models.UniqueConstraint(
                fields=["slug", "version"], name="feedback_questionnaire_unique_version"
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(is_current=True),
                name="feedback_questionnaire_one_current_version",
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="feedback_questionnaire_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class Question(models.Model):
    """A question of a questionnaire, or one a lead added to their own pilot."""

    class Kind(models.TextChoices):
        SCALE = "scale", _("Scale")
        NUMBER = "number", _("Number")
        YES_NO = "yes_no", _("Yes / no")
        CHOICE = "choice", _("Single choice")
        TEXT = "text", _("Text")

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, null=True, blank=True, related_name="questions"
    )
    pilot = models.ForeignKey(
        "pilots.Pilot",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="extra_questions",
    )
    key = models.SlugField(
        _("key"), max_length=64, help_text=_("Stable key used by success metrics and guardrails.")
    )
    text = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    min_value = models.DecimalField(
        _("minimum"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    # Answers are multiples of the step from the minimum: 1 on a scale, the author's grid for
    # a number (1 for counts and minutes, 0.01 for a rate). The sd floor of results follows it.
    step = models.DecimalField(
        _("step"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("1"),
        help_text=_(
            "Answers are multiples of it from the minimum: 1 for scales, counts and minutes, "
            "0.01 for a rate or a share."
        ),
    )
    min_label = models.CharField(_("label at the minimum"), max_length=60, blank=True)
    max_label = models.CharField(_("label at the maximum"), max_length=60, blank=True)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_("For single choice: a list of [value, label] pairs."),
    )
    # The language `text` and the labels are written in, and their translations into others:
    # {"fr": {"text": ..., "help_text": ..., "min_label": ..., "max_label": ..., "unit": ...,
    # "choices": {value: label}}}. A lead's own question may exist in one language only.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    # Asked only when another question of the same questionnaire got this answer.
    shown_if_key = models.SlugField(_("only when question"), max_length=64, blank=True)
    shown_if_value = models.CharField(_("has the answer"), max_length=60, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(
                condition=Q(questionnaire__isnull=False, pilot__isnull=True)
                | Q(questionnaire__isnull=True, pilot__isnull=False),
                name="feedback_question_one_owner",
            ),
            models.UniqueConstraint(
                fields=["questionnaire", "key"],
                condition=Q(questionnaire__isnull=False),
                name="feedback_question_unique_key_per_questionnaire",
            ),
            models.UniqueConstraint(
                fields=["pilot", "key"],
                condition=Q(pilot__isnull=False),
                name="feedback_question_unique_key_per_pilot",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["scale", "number"])
                | Q(
                    min_value__isnull=False,
                    max_value__isnull=False,
                    max_value__gt=models.F("min_value"),
                ),
                name="feedback_question_range_for_numbers",
            ),
            models.CheckConstraint(
                condition=Q(step__gt=0),
                name="feedback_question_step_positive",
                violation_error_message=_("The step must be above 0."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="scale") | Q(step=1),
                name="feedback_question_scale_step_one",
                violation_error_message=_("A scale goes in steps of 1."),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def localized(self, language: str | None = None) -> LocalizedQuestion:
        """The question's texts in a language (default: the active one), else as written."""
        from django.utils import translation

        language = (language or translation.get_language() or self.language or "en")[:2]
        own = language == self.language
        given = {} if own else (self.translations or {}).get(language, {})
        choice_labels = given.get("choices") or {}
        return LocalizedQuestion(
            key=self.key,
            language=language if (own or given) else self.language,
            text=given.get("text") or self.text,
            help_text=given.get("help_text") or self.help_text,
            min_label=given.get("min_label") or self.min_label,
            max_label=given.get("max_label") or self.max_label,
            unit=given.get("unit") or self.unit,
            choices=[
                [str(value), choice_labels.get(str(value)) or str(label)]
                for value, label in (
                    c for c in self.choices or [] if isinstance(c, list | tuple) and len(c) >= 2
                )
            ],
        )


@dataclass(frozen=True)
class LocalizedQuestion:
    """A question's words in one language; `language` is the one they are actually in."""

    key: str
    language: str
    text: str
    help_text: str
    min_label: str
    max_label: str
    unit: str
    choices: list[list[str]]


class Absence(models.Model):
    """A participant away for a period: no prompts and no reminders while it lasts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences"
    )
    starts_on = models.DateField(_("away from"))
    ends_on = models.DateField(_("back on"))

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="feedback_absence_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.starts_on} – {self.ends_on}"


class FeedbackRoundQuerySet(models.QuerySet):
    def open(self) -> FeedbackRoundQuerySet:
        return self.filter(status=FeedbackRound.Status.OPEN)

    def closed(self) -> FeedbackRoundQuerySet:
        return self.filter(status=FeedbackRound.Status.CLOSED)

    def answered(self) -> FeedbackRoundQuerySet:
        """Closed rounds with at least one response: the ones evidence is drawn from."""
        return self.closed().filter(response_count__gt=0)

    def due_to_close(self, now) -> FeedbackRoundQuerySet:
        return self.open().filter(closes_at__lte=now)

    def with_counts(self) -> FeedbackRoundQuerySet:
        """Annotate `invited`, `responded` and `threshold_reached`, following the timing rule.

        Closed rounds: as recorded when they closed. An open round: invitations counted live
        (they move with the fan-out, not with answers); responses counted live only when the
        round is named. While an anonymous round is open `responded` is None and only
        `threshold_reached` says anything about its answers: a count moving by one with each
        answer would date each answer (README, "the timing rule").
        """
        prompts = (
            Prompt.objects.filter(round=OuterRef("pk"))
            .order_by()
            .values("round")
            .annotate(n=Count("pk"))
            .values("n")
        )
        responses = (
            Response.objects.filter(round=OuterRef("pk"))
            .order_by()
            .values("round")
            .annotate(n=Count("pk"))
            .values("n")
        )
        threshold = anonymity_threshold()
        # The threshold-th response exists: reached, without counting past it.
        nth = (
            Response.objects.filter(round=OuterRef("pk"))
            .order_by()
            .values("pk")[threshold - 1 : threshold]
        )
        closed = Q(status=FeedbackRound.Status.CLOSED)
        return self.annotate(
            invited=Case(
                When(closed, then=F("invited_count")), default=Coalesce(Subquery(prompts), 0)
            ),
            responded=Case(
                When(closed, then=F("response_count")),
                When(anonymous=False, then=Coalesce(Subquery(responses), 0)),
                default=Value(None, output_field=models.IntegerField()),
            ),
            threshold_reached=Case(
                When(closed, then=Q(response_count__gte=threshold)),
                default=Exists(nth),
                output_field=models.BooleanField(),
            ),
        )


def response_rate(responses: int, invited: int) -> float | None:
    """The one rule of a response rate: responses over invited; None when nobody was invited."""
    return responses / invited if invited else None


def response_rate_sql(prefix: str = "") -> ExpressionWrapper:
    """`response_rate` in SQL, for annotations (`prefix`: the path to a round, e.g. "rounds__")."""
    return ExpressionWrapper(
        Case(
            When(
                **{f"{prefix}invited_count__gt": 0},
                then=F(f"{prefix}response_count") * 1.0 / F(f"{prefix}invited_count"),
            ),
            default=None,
        ),
        output_field=FloatField(),
    )


class FeedbackRound(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.CASCADE, related_name="rounds")
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="rounds"
    )
    period_start = models.DateField(_("period start"))
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.OPEN)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The pilot's anonymous_feedback when the round opened, fixed for the round's life: answering
    # follows it, so no one can make a round's answers named halfway through.
    anonymous = models.BooleanField(_("anonymous"), default=True, editable=False)
    invited_count = models.PositiveIntegerField(_("invited"), default=0)
    response_count = models.PositiveIntegerField(_("responses"), default=0)
    # Aggregated results computed when the round closes (feedback.results); never per person.
    results = models.JSONField(_("results"), null=True, blank=True)

    objects = FeedbackRoundQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start"]
        get_latest_by = "period_start"
        verbose_name = _("feedback round")
        verbose_name_plural = _("feedback rounds")
        constraints = [
            models.UniqueConstraint(
                fields=["pilot", "period_start"], name="feedback_feedbackround_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="feedback_feedbackround_window_in_order",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="feedback_feedbackround_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(response_count__lte=models.F("invited_count")),
                name="feedback_feedbackround_responses_within_invited",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "closes_at"], name="feedback_round_status_closes")
        ]

    def __str__(self) -> str:
        return f"{self.pilot} – {self.period_start}"

    @property
    def response_rate(self) -> float | None:
        return response_rate(self.response_count, self.invited_count)


class RoundQuestionSummary(models.Model):
    """One shown question's (n, mean, sd) and grid in a closed round, as plain columns.

    Written with the round's results at close (feedback.results.store_summaries) from the
    stored results themselves, so it says exactly what they say and nothing more: a question
    below the anonymity threshold (not shown) or without a figure has no row. Pages that pool
    one question over many rounds (the portfolio's minutes saved) aggregate these rows in SQL
    instead of decoding every round's results.
    """

    round = models.ForeignKey(
        FeedbackRound, on_delete=models.CASCADE, related_name="question_summaries"
    )
    key = models.CharField(max_length=64)
    n = models.PositiveIntegerField()
    mean = models.FloatField()
    # Sample standard deviation; None for a single answer.
    sd = models.FloatField(null=True)
    # A share of yes answers (judged with the Wilson interval); such rows have no grid.
    proportion = models.BooleanField(default=False)
    step = models.FloatField(null=True)
    min_value = models.FloatField(null=True)
    max_value = models.FloatField(null=True)
    counts = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "key"], name="feedback_summary_one_per_key"),
            models.CheckConstraint(condition=Q(n__gt=0), name="feedback_summary_answered"),
        ]
        indexes = [models.Index(fields=["key", "round"], name="feedback_summary_key_round")]

    def __str__(self) -> str:
        return f"{self.round_id} {self.key} n={self.n}"


class PilotMinutesSaved(models.Model):
    """A pilot's minutes saved per period, pooled over its last answered rounds, with its interval.

    Written with the summary rows at every close (feedback.savings.store, in the close's
    transaction) from those rows, so it says what the stored results say: a pilot whose recent
    rounds show no minutes saved has no row. The portfolio scales it by the pilot's cadence and
    participants and sums it in SQL, instead of computing an interval per pilot on each visit.
    """

    pilot = models.OneToOneField(
        "pilots.Pilot", on_delete=models.CASCADE, primary_key=True, related_name="pooled_minutes"
    )
    # Answers pooled, and the effective number the interval was drawn with (the largest round).
    n = models.PositiveIntegerField()
    n_eff = models.PositiveIntegerField()
    mean = models.FloatField()
    # The 95% interval of the mean (None: none could be drawn, e.g. a single answer).
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(n__gt=0), name="feedback_minutes_saved_answered"),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True, ci_high__isnull=True)
                | Q(ci_low__isnull=False, ci_high__isnull=False, ci_low__lte=F("ci_high")),
                name="feedback_minutes_saved_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot_id} minutes saved n={self.n}"


class Prompt(models.Model):
    """One participant's invitation to answer a round, reached by a single-use token.

    For anonymous pilots the prompt records only *that* it was answered, never which response.
    Its emails (invitations, the reminder) are deliveries of the outbox (feedback.invitations).
    """

    round = models.ForeignKey(FeedbackRound, on_delete=models.CASCADE, related_name="prompts")
    participant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompts"
    )
    # SHA-256 of the emailed token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # No timestamp on purpose: a time would let anyone match a prompt to its anonymous response.
    answered = models.BooleanField(default=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "participant"], name="feedback_prompt_one_per_participant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} → {self.participant}"


class Response(models.Model):
    """A set of answers. Random id and no timestamp, so its order reveals nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(FeedbackRound, on_delete=models.CASCADE, related_name="responses")
    # Only for pilots whose feedback is not anonymous.
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # SHA-256 of a value derived from the prompt's token: lets the token holder edit, while
    # nothing stored links the prompt to the response.
    edit_key_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "respondent"],
                condition=Q(respondent__isnull=False),
                name="feedback_response_one_per_respondent",
            ),
            # Named (a respondent) or anonymous (an edit key), never both: both would tie the
            # key's holder, and so the prompt, to a person.
            models.CheckConstraint(
                condition=Q(respondent__isnull=True) | Q(edit_key_hash__isnull=True),
                name="feedback_response_named_or_keyed",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Response to %(round)s") % {"round": self.round})


class Answer(models.Model):
    # Random ids: sequential ones would give away the order in which people answered.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    number = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    boolean = models.BooleanField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="feedback_answer_one_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.key}"
