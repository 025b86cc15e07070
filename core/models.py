"""The spine's rows: change records, follow-up work, and deliveries (the outbox).

Each knows nothing of pilots or feedback: what a row is about is a content type and an id, so
that every layer above can record its changes, its follow-up work and its messages here.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChangeRecord(models.Model):
    """One write, append-only: who (empty: the system), when, what changed, why.

    `subject` is the row that changed (a pilot, a metric, a review…); `scope` the row whose
    history it belongs to (the pilot), so a pilot's page lists everything that happened to it
    and to what hangs off it. `changes` maps each field to [before, after]. A record about an
    anonymous declaration or report has no actor.
    """

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("what"), max_length=64)
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("kind of record")
    )
    subject_id = models.CharField(_("record"), max_length=64)
    scope_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("why"), blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        indexes = [
            models.Index(
                fields=["scope_type", "scope_id", "created_at"], name="core_change_by_scope"
            ),
            models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="core_change_by_subject"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(action=""), name="core_changerecord_action_named"),
            models.CheckConstraint(
                condition=Q(scope_type__isnull=True, scope_id__isnull=True)
                | Q(scope_type__isnull=False, scope_id__isnull=False),
                name="core_changerecord_scope_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type_id}:{self.subject_id}"


class FollowUp(models.Model):
    """Work a commit must be followed by, written in the same transaction as its cause.

    The task that does it is enqueued after commit; if the broker loses that message, the
    periodic sweep finds the row still pending and enqueues it again (core.followups). A
    handler must be harmless when run twice: a worker may die after its work committed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=64)
    # What it is about, for idempotence: one pending follow-up per (kind, key).
    key = models.CharField(_("key"), max_length=128)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    available_at = models.DateTimeField(_("due"), default=timezone.now)
    claimed_at = models.DateTimeField(_("started"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["status", "available_at"], name="core_followup_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "done", "failed"]),
                name="core_followup_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="running") | Q(claimed_at__isnull=False),
                name="core_followup_running_has_claimed_at",
            ),
            models.CheckConstraint(
                condition=Q(status="done", done_at__isnull=False)
                | (~Q(status="done") & Q(done_at__isnull=True)),
                name="core_followup_done_has_done_at",
            ),
            # A cause recorded twice before its work ran makes one piece of work.
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(status__in=["pending", "running"]),
                name="core_followup_one_pending_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"


class Delivery(models.Model):
    """One outbound message: an email, a webhook call. The one outbox of the system.

    queued → sending → sent, or failed; claimed by a conditional UPDATE (only the worker whose
    update changed the row sends), retried with backoff, swept when stuck. Its kind says what
    a failure or a worker dying mid-send means (core.outbox): an invitation is delivered at
    most once, an alert to Ops at least once. The payload holds what the message is made from,
    never a secret (an answer token is minted when the invitation is sent, and lives only in
    the email).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not needed any more")

    kind = models.CharField(_("kind"), max_length=32)
    channel = models.CharField(_("channel"), max_length=16, default="email")
    # An email address or a URL; `recipient_user` when it is a person of the site.
    recipient = models.CharField(_("to"), max_length=500)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_id = models.CharField(max_length=64, blank=True)
    # Deliveries sent together (the invitations of one round: "round:42").
    batch = models.CharField(_("batch"), max_length=64, blank=True, db_index=True)
    # Idempotence: enqueuing the same message twice makes one delivery.
    dedupe_key = models.CharField(_("key"), max_length=200, unique=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["kind", "status", "next_attempt_at"], name="core_delivery_due"),
            models.Index(fields=["subject_type", "subject_id"], name="core_delivery_subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed", "cancelled"]),
                name="core_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="core_delivery_sending_has_claimed_at",
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="core_delivery_sent_iff_sent_at",
            ),
            models.CheckConstraint(condition=~Q(recipient=""), name="core_delivery_has_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"
