"""Webhook endpoints Ops register, and what was delivered to them.

A webhook call is a kind of delivery of the one outbox (core.outbox): its state (queued →
sending → sent or failed), its claim, retries and sweep are the outbox row's. The rows here add
what only webhooks have: the endpoint (its URL, secret, events and health), the event and
idempotency key of each delivery, and every attempt with the status code it got.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """What an endpoint may subscribe to (the `X-AIOps-Event` header)."""

    PILOT_SUBMITTED = "pilot.submitted", _("Pilot submitted")
    STAGE_CHANGED = "pilot.stage_changed", _("Stage changed")
    BREACH_OPENED = "breach.opened", _("Guardrail breach opened")
    BREACH_RESOLVED = "breach.resolved", _("Guardrail breach resolved")
    ROUND_CLOSED = "round.closed", _("Feedback round closed")
    DECLARATION_RECEIVED = "declaration.received", _("Tool declaration received")


class EndpointQuerySet(models.QuerySet):
    def listening_to(self, event: str) -> list[Endpoint]:
        """The active endpoints subscribed to `event`.

        Filtered in Python: `events` is a JSON list, and SQLite has no JSON containment; Ops
        register a handful of endpoints, not thousands.
        """
        return [e for e in self.filter(active=True).order_by("pk") if event in (e.events or [])]


class Endpoint(models.Model):
    """A URL that receives signed JSON POSTs (or Slack / Teams messages) about events."""

    class Kind(models.TextChoices):
        JSON = "json", _("Generic JSON")
        SLACK = "slack", _("Slack incoming webhook")
        TEAMS = "teams", _("Microsoft Teams incoming webhook")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind, default=Kind.JSON)
    url = models.URLField(_("URL"), max_length=500)
    # A list of Event values.
    events = models.JSONField(_("events"), default=list)
    # Kept in clear, unlike API tokens (stored as a hash): signing a body with HMAC needs the
    # secret itself, on every delivery. Shown once, when it is generated; never in an API answer
    # after that, nor in the admin, the change record or a log.
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.TextField(_("why it was disabled"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="webhooks_endpoint_named"),
            models.CheckConstraint(
                condition=Q(kind__in=["json", "slack", "teams"]), name="webhooks_endpoint_kind"
            ),
            models.CheckConstraint(
                condition=Q(url__startswith="http://") | Q(url__startswith="https://"),
                name="webhooks_endpoint_http_url",
            ),
            models.CheckConstraint(condition=~Q(secret=""), name="webhooks_endpoint_has_secret"),
            # Disabled by the system: inactive, with a reason.
            models.CheckConstraint(
                condition=Q(disabled_at__isnull=True) | (Q(active=False) & ~Q(disabled_reason="")),
                name="webhooks_endpoint_disabled_is_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def listens_to(self, event: str) -> bool:
        return self.active and event in (self.events or [])


class Delivery(models.Model):
    """One event occurrence for one endpoint; its state is its outbox row's."""

    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    outbox = models.OneToOneField(
        "core.Delivery", on_delete=models.CASCADE, related_name="webhook", editable=False
    )
    event = models.CharField(_("event"), max_length=32, choices=Event)
    # The same for every attempt of this delivery (X-AIOps-Delivery): receivers dedupe on it.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    # The event's data as the receiver gets it (the JSON body's "data").
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "idempotency_key"], name="webhooks_delivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=Q(event__in=[e.value for e in Event]), name="webhooks_delivery_event"
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="webhooks_delivery_has_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.idempotency_key})"


class Attempt(models.Model):
    """One HTTP call of a delivery: when, the status code (none: no answer), the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhooks_attempt_numbered_once"
            ),
            models.CheckConstraint(
                condition=Q(status_code__isnull=True)
                | Q(status_code__gte=100, status_code__lte=599),
                name="webhooks_attempt_status_code_http",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="webhooks_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
