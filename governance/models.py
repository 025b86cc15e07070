"""The usage charter Ops publish and the acknowledgements participants give."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CharterVersionQuerySet(models.QuerySet):
    def current(self) -> CharterVersion | None:
        """The latest published version, or None when Ops have published none."""
        return self.order_by("-number").first()


class CharterVersion(models.Model):
    """One published version of the AI usage charter; append-only (never edited once published)."""

    number = models.PositiveIntegerField(_("version"), editable=False)
    body_en = models.TextField(_("charter (English, Markdown)"))
    body_fr = models.TextField(_("charter (French, Markdown)"), blank=True)
    published_at = models.DateTimeField(_("published"), default=timezone.now, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("published by"),
    )

    objects = CharterVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        verbose_name = _("charter version")
        verbose_name_plural = _("charter versions")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="governance_charterversion_number"),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="governance_charterversion_number_positive"
            ),
            models.CheckConstraint(
                condition=~Q(body_en=""), name="governance_charterversion_body_en_required"
            ),
        ]

    def __str__(self) -> str:
        return _("Charter version %(number)s") % {"number": self.number}

    def body_for(self, language: str) -> str:
        """The charter in a language ("fr…" or English), English when no French was written."""
        if language.startswith("fr") and self.body_fr.strip():
            return self.body_fr
        return self.body_en


class Acknowledgement(models.Model):
    """A participant read and accepted a charter version and a pilot's policy guardrails.

    A record (who, which version, which pilot, when), never linked to a prompt, a response or
    an answer: it tells nothing about feedback.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="charter_acknowledgements",
        verbose_name=_("person"),
    )
    version = models.ForeignKey(
        CharterVersion,
        on_delete=models.PROTECT,
        related_name="acknowledgements",
        verbose_name=_("charter version"),
    )
    pilot = models.ForeignKey(
        "pilots.Pilot",
        on_delete=models.CASCADE,
        related_name="charter_acknowledgements",
        verbose_name=_("pilot"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), default=timezone.now)
    # The pilot's policy guardrails as they read them (their words may change before any round).
    guardrails = models.JSONField(_("policy guardrails acknowledged"), default=list, blank=True)

    class Meta:
        ordering = ["-acknowledged_at", "-pk"]
        verbose_name = _("charter acknowledgement")
        verbose_name_plural = _("charter acknowledgements")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "version", "pilot"], name="governance_acknowledgement_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.version} – {self.pilot}"


class TeamChampion(models.Model):
    """A person Ops named AI champion of a team: they test and spread good practice there."""

    team = models.ForeignKey(
        "pilots.Team", on_delete=models.CASCADE, related_name="champions", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="championships",
        verbose_name=_("champion"),
    )
    duties = models.TextField(_("duties"))
    hours_per_month = models.PositiveSmallIntegerField(_("time allotted (hours a month)"))
    named_at = models.DateTimeField(_("named"), default=timezone.now, editable=False)
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("named by"),
    )

    class Meta:
        ordering = ["team__name", "user__username"]
        verbose_name = _("AI champion")
        verbose_name_plural = _("AI champions")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="governance_teamchampion_unique"),
            models.CheckConstraint(
                condition=Q(hours_per_month__gte=1) & Q(hours_per_month__lte=200),
                name="governance_teamchampion_hours_range",
            ),
            models.CheckConstraint(
                condition=~Q(duties=""), name="governance_teamchampion_duties_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.team}"


class TrainingSession(models.Model):
    """A training session a champion or Ops ran for a team (AI literacy, Art. 4 AI Act)."""

    team = models.ForeignKey(
        "pilots.Team",
        on_delete=models.CASCADE,
        related_name="training_sessions",
        verbose_name=_("team"),
    )
    topic = models.CharField(_("topic"), max_length=200)
    held_on = models.DateField(_("date"))
    attendees = models.PositiveIntegerField(_("attendees"))
    material_url = models.URLField(_("material link"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(attendees__gte=1), name="governance_trainingsession_attendees"
            ),
            models.CheckConstraint(
                condition=~Q(topic=""), name="governance_trainingsession_topic_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} ({self.held_on})"
