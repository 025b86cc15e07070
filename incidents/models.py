"""Incidents: reported by anyone about a pilot or a tool, triaged by Ops, without blame.

An anonymous report stores no reporter and only its day: the key is random (a sequence would
order it among other rows) and nothing holds a time, so no row says who reported it or when
beyond the day.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The kind that breaches a pilot's exposure guardrails at once: the same value as the feedback
# incident question's (feedback.anonymity.EXPOSURE_VALUE; tests check they agree).
EXPOSURE_KIND = "confidential_data_exposed"


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.exclude(status=Incident.Status.CLOSED)


class IncidentKind(models.TextChoices):
    CONFIDENTIAL_DATA_EXPOSED = EXPOSURE_KIND, _("Confidential data exposed")
    WRONG_OUTPUT = "wrong_output", _("Wrong or harmful output")
    UNFAIR_TREATMENT = "unfair_treatment", _("Unfair treatment of someone")
    SECURITY = "security", _("Security problem")
    OUTAGE = "outage", _("Tool unavailable or broken")
    OTHER = "other", _("Something else")


class IncidentSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class IncidentStatus(models.TextChoices):
    NEW = "new", _("New")
    INVESTIGATING = "investigating", _("Investigating")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")


class Incident(models.Model):
    Kind = IncidentKind
    Severity = IncidentSeverity
    Status = IncidentStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pilot = models.ForeignKey(
        "pilots.Pilot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("pilot"),
    )
    tool = models.ForeignKey(
        "pilots.AITool",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("AI tool"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=IncidentKind)
    severity = models.CharField(_("severity"), max_length=8, choices=IncidentSeverity)
    description = models.TextField(_("what happened"))
    # Empty for an anonymous report, and never filled in afterwards.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
        editable=False,
    )
    # The day only, for every report: a time would tell who sent an anonymous one.
    reported_on = models.DateField(_("reported on"), default=timezone.localdate, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=IncidentStatus,
        default=IncidentStatus.NEW,
        editable=False,
    )
    breaches = models.ManyToManyField(
        "pilots.GuardrailBreach", blank=True, related_name="incidents", verbose_name=_("breaches")
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_on", "status"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.CheckConstraint(
                condition=Q(pilot__isnull=False) | Q(tool__isnull=False),
                name="incidents_incident_about_a_pilot_or_a_tool",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=IncidentKind.values),
                name="incidents_incident_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=IncidentSeverity.values),
                name="incidents_incident_severity_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=IncidentStatus.values),
                name="incidents_incident_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.reported_on})"

    def get_absolute_url(self) -> str:
        return reverse("incident_detail", args=[self.pk])

    @property
    def subject(self) -> str:
        return str(self.pilot or self.tool)


class Triage(models.Model):
    """An append-only step of Ops' triage: from which status to which, why, who, when."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="triage")
    from_status = models.CharField(_("from"), max_length=16, choices=Incident.Status)
    to_status = models.CharField(_("to"), max_length=16, choices=Incident.Status)
    note = models.TextField(_("note"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("triage step")
        verbose_name_plural = _("triage steps")
        constraints = [
            models.CheckConstraint(condition=~Q(note=""), name="incidents_triage_has_note"),
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")), name="incidents_triage_moves"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"
