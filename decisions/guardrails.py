"""Guardrail breach detection and its action: the breach record, the pause, the Ops email.

Metric guardrails are evaluated on the round's answers straight from the database, even below
the anonymity threshold: safety comes first (one incident among three answers must still pause
a pilot). What is *recorded* respects the threshold: below it the breach stores no value and
its detail says only which rule broke, so the record and the email reveal no answer.

Repeats are harmless: a metric breach is unique per (guardrail, round) in the database, the
pilot row is locked while a round is evaluated, and the pause happens only for a breach this
call created. An exposure guardrail has at most one OPEN breach per (guardrail, round) (a
partial unique constraint): once Ops resolve it, a further exposure reported in the same round
is a new breach, which pauses again. "Further" is told by the round's number of exposure
reports, stored on the breach: a repeated task sees the same count and records nothing.

What the system actually did is recorded on the breach (action_taken: flagged, paused,
pause_refused when the lifecycle refused the pause, not_running when there was nothing to
pause), and the Ops email and the pages word it from there, never from the guardrail's intent.

The Ops alert of a breach goes through the outbox (core.outbox), written in the transaction
that records the breach: one delivery per Ops recipient (every active Ops user with an email,
superusers included, and OPS_EMAILS), of the at-least-once kind BREACH_ALERT. A failed send is
retried with backoff, a delivery left in sending by a worker that died is sent again by the
outbox's sweep: every breach reaches every Ops recipient, twice only if a worker dies between
the mail server accepting the email and the delivery being marked sent.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import changelog, followups, languages, outbox
from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from core.models import Delivery
from core.ops import ops_users
from feedback.anonymity import EXPOSURE_VALUE, anonymity_threshold
from feedback.models import Answer, FeedbackRound, Question
from incidents.models import EXPOSURE_KIND, Incident
from pilots import access, breach_text, lifecycle
from pilots.models import (
    ACTIVE_STAGES,
    BREACH_OPENED,
    BREACH_RESOLVED,
    Guardrail,
    GuardrailBreach,
    GuardrailCheck,
    Pilot,
)

logger = logging.getLogger(__name__)


class BreachAlreadyResolved(DomainError):
    code = "breach_already_resolved"
    status = 409


def observed_values(round_id: int, keys: set[str]) -> dict[str, dict]:
    """Per question key: answers, mean, yes count and yes share of a round (one query)."""
    if not keys:
        return {}
    rows = (
        Answer.objects.filter(response__round_id=round_id, question__key__in=keys)
        .values("question__key")
        .order_by()
        .annotate(
            n=Count("id"),
            numbers=Count("id", filter=Q(number__isnull=False)),
            mean=Avg("number"),
            booleans=Count("id", filter=Q(boolean__isnull=False)),
            yes=Count("id", filter=Q(boolean=True)),
        )
    )
    values = {}
    for row in rows:
        values[row["question__key"]] = {
            "n": row["n"],
            Guardrail.Statistic.MEAN: (Decimal(str(row["mean"])) if row["numbers"] else None),
            Guardrail.Statistic.YES_COUNT: Decimal(row["yes"]) if row["booleans"] else None,
            Guardrail.Statistic.YES_SHARE: (
                Decimal(row["yes"]) / Decimal(row["booleans"]) if row["booleans"] else None
            ),
        }
    return values


BREACH_ALERT = "breach_alert"


def ops_recipients() -> list[str]:
    """Whom a breach alerts: every active Ops user with an email, and OPS_EMAILS."""
    users = ops_users().exclude(email="").values_list("email", flat=True)
    return sorted({*users, *settings.OPS_EMAILS})


def _alert_ops(breach: GuardrailBreach) -> int:
    """Queue the breach's alert to each Ops recipient (in the caller's transaction)."""
    recipients = ops_recipients()
    if not recipients:
        logger.error(
            "Guardrail breach %s: no Ops recipient (no active Ops user with an email, no"
            " OPS_EMAILS): nobody is emailed; it shows on the Ops home.",
            breach.pk,
        )
    for email in recipients:
        outbox.enqueue(
            BREACH_ALERT,
            recipient=email,
            dedupe_key=f"{BREACH_ALERT}:{breach.pk}:{email}",
            payload={"breach_id": breach.pk},
            subject=breach,
        )
    return len(recipients)


def build_breach_alert(delivery: Delivery) -> outbox.Email | None:
    """The alert of one breach, worded from its facts (the breach gone: nothing to send)."""
    breach = (
        GuardrailBreach.objects.select_related("pilot", "guardrail")
        .filter(pk=delivery.payload.get("breach_id"))
        .first()
    )
    if breach is None:
        return None
    url = settings.SITE_URL.rstrip("/") + breach.pilot.get_absolute_url()
    # In the language of the Ops user the address is theirs (an OPS_EMAILS address: the site's).
    reader = ops_users().filter(email=delivery.recipient).first()
    with translation.override(languages.language_of(reader)):
        subject = _("Guardrail broken: %(pilot)s") % {"pilot": breach.pilot.title}
        body = _("%(detail)s\n\nAction taken: %(action)s.\n%(url)s") % {
            "detail": breach_text.describe(breach),
            "action": breach.get_action_taken_display(),
            "url": url,
        }
    return outbox.Email(subject=subject, body=body)


ALERT_KIND = outbox.Kind(
    BREACH_ALERT,
    outbox.AT_LEAST_ONCE,
    build_breach_alert,
    # Retries after 1, 2, 4, 5 and 5 minutes; then failed, listed for Ops in the outbox.
    max_attempts=6,
    backoff=lambda attempt: min(60 * 2 ** (attempt - 1), 300),
)


def _record(
    guardrail: Guardrail,
    feedback_round: FeedbackRound,
    *,
    value: Decimal | None,
    shown: bool,
) -> tuple[GuardrailBreach, bool]:
    # The unique (guardrail, round) constraint of metric breaches makes a repeat return the
    # existing row.
    breach, created = GuardrailBreach.objects.get_or_create(
        guardrail=guardrail,
        round=feedback_round,
        trigger=GuardrailBreach.Trigger.METRIC,
        defaults={
            "pilot_id": feedback_round.pilot_id,
            "observed_value": value,
            "rule": breach_text.rule_facts(guardrail, feedback_round, shown=shown),
            "created_at": timezone.now(),
        },
    )
    if created:
        # The words as first written, in the server's language, for the audit trail.
        breach.detail = breach_text.describe(breach)
        breach.save(update_fields=["detail"])
    return breach, created


def _record_withheld(
    feedback_round: FeedbackRound, broken: list[Guardrail]
) -> tuple[GuardrailBreach, bool]:
    """One breach for every guardrail that broke unseen in a round: it names none of them.

    Their question had fewer answers than the anonymity threshold, so naming the rule (or
    each rule, for several rules on the same answers) would tell the few who answered what the
    others said. The safety action still happens: the pilot pauses if any of them pauses.
    """
    pause = any(g.action == Guardrail.Action.PAUSE for g in broken)
    breach, created = GuardrailBreach.objects.get_or_create(
        round=feedback_round,
        guardrail=None,
        trigger=GuardrailBreach.Trigger.METRIC,
        defaults={
            "pilot_id": feedback_round.pilot_id,
            "rule": breach_text.withheld_facts(
                feedback_round,
                action=Guardrail.Action.PAUSE if pause else Guardrail.Action.FLAG,
            ),
            "created_at": timezone.now(),
        },
    )
    if created:
        breach.detail = breach_text.describe(breach)
        breach.save(update_fields=["detail"])
    return breach, created


def intended_action(breach: GuardrailBreach) -> str:
    """What the guardrail(s) behind a breach asked for on breach: flag or pause."""
    if breach.guardrail_id is None:
        return (breach.rule or {}).get("action", Guardrail.Action.FLAG)
    return breach.guardrail.action


def _act(pilot: Pilot, created: list[GuardrailBreach]) -> None:
    """Pause the pilot for the first new pausing breach; enqueue the Ops emails after commit."""
    Taken = GuardrailBreach.ActionTaken
    for breach in created:
        if intended_action(breach) != Guardrail.Action.PAUSE:
            taken = Taken.FLAGGED
        elif pilot.stage not in ACTIVE_STAGES:
            taken = Taken.NOT_RUNNING
        else:
            try:
                # move() runs in a savepoint: if it refuses, the breach record still stands.
                lifecycle.move(
                    pilot.pk,
                    lifecycle.Action.PAUSE,
                    actor=None,
                    expected_stage=pilot.stage,
                    rationale=breach_text.describe(breach),
                    breach=breach,
                )
                taken = Taken.PAUSED
            except DomainError:
                logger.exception("Guardrail breach %s: the pause was refused", breach.pk)
                taken = Taken.PAUSE_REFUSED
            pilot.refresh_from_db(fields=["stage", "paused_from", "stage_changed_at"])
        if breach.action_taken != taken:
            breach.action_taken = taken
            breach.save(update_fields=["action_taken"])
    for breach in created:
        # In this transaction: a rollback alerts nobody, a lost message delays the alert.
        _alert_ops(breach)
        # Whoever listens (webhooks) hears of it after commit. A metric breach exists only once
        # its round closed; an exposure breach goes at once (the accepted leak of anonymity).
        followups.announce(
            BREACH_OPENED, key=f"breach:{breach.pk}", payload={"breach_id": breach.pk}
        )


def evaluate_round(round_id: int) -> list[GuardrailBreach]:
    """Evaluate every enabled metric guardrail of a closed round; return the new breaches.

    Each guardrail is judged on the round's raw answers, even below the anonymity threshold
    (safety first: a breach is recorded and acted on), but what is *recorded as seen* follows
    the threshold: a round that met it gets one check per guardrail — holding or broken with
    the value when its question has at least threshold answers, else "not evaluated" (no
    answers, or too few to show). A guardrail that broke on a question with fewer answers than
    the threshold is not named: all such guardrails of the round make one withheld breach
    ("a guardrail of this pilot broke in this round"). A round below the threshold records no
    check at all.
    """
    threshold = anonymity_threshold()
    with transaction.atomic():
        feedback_round = FeedbackRound.objects.filter(pk=round_id).first()
        if feedback_round is None or feedback_round.status != FeedbackRound.Status.CLOSED:
            return []
        # Serialises evaluations of the pilot's rounds, so the pause happens once.
        pilot = Pilot.objects.select_for_update().get(pk=feedback_round.pilot_id)
        guardrails = list(pilot.guardrails.enabled().filter(kind=Guardrail.Kind.METRIC))
        values = observed_values(round_id, {g.question_key for g in guardrails})
        round_shown = feedback_round.response_count >= threshold
        created, checks, unseen = [], [], []
        for guardrail in guardrails:
            seen = values.get(guardrail.question_key, {})
            value = seen.get(guardrail.statistic)
            shown = round_shown and seen.get("n", 0) >= threshold
            broken = value is not None and not guardrail.holds_for(value)
            if round_shown:
                checks.append(
                    GuardrailCheck(
                        guardrail=guardrail,
                        round=feedback_round,
                        outcome=(
                            GuardrailCheck.Outcome.NOT_EVALUATED
                            if not shown or value is None
                            else GuardrailCheck.Outcome.BROKEN
                            if broken
                            else GuardrailCheck.Outcome.HOLDING
                        ),
                        observed_value=value.quantize(Decimal("0.0001"))
                        if shown and value is not None
                        else None,
                    )
                )
            if not broken:
                continue
            if not shown:
                unseen.append(guardrail)
                continue
            breach, new = _record(
                guardrail, feedback_round, value=value.quantize(Decimal("0.0001")), shown=True
            )
            if new:
                created.append(breach)
        if unseen:
            breach, new = _record_withheld(feedback_round, unseen)
            if new:
                created.append(breach)
        # A repeated evaluation finds its checks already there (one per guardrail and round).
        GuardrailCheck.objects.bulk_create(checks, ignore_conflicts=True)
        _act(pilot, created)
    return created


def record_exposure_incident(round_id: int) -> list[GuardrailBreach]:
    """Record a breach of every guardrail of the round's pilot that forbids data exposure."""
    with transaction.atomic():
        feedback_round = FeedbackRound.objects.filter(pk=round_id).first()
        if feedback_round is None:
            return []
        pilot = Pilot.objects.select_for_update().get(pk=feedback_round.pilot_id)
        # Re-check: the task may run after the answer was edited away.
        reported = Answer.objects.filter(
            response__round_id=round_id,
            question__kind=Question.Kind.CHOICE,
            text=EXPOSURE_VALUE,
        ).count()
        if not reported:
            return []
        guardrails = list(pilot.guardrails.enabled().filter(forbids_data_exposure=True))
        # Per guardrail: (is one open, reports counted by its latest breach) in this round.
        latest: dict[int, tuple[bool, int]] = {}
        for guardrail_id, resolved_at, seen in (
            GuardrailBreach.objects.filter(
                round_id=round_id,
                trigger=GuardrailBreach.Trigger.EXPOSURE,
                guardrail__in=guardrails,
            )
            .order_by("guardrail_id", "created_at", "pk")
            .values_list("guardrail_id", "resolved_at", "exposure_reports")
        ):
            was_open, most = latest.get(guardrail_id, (False, 0))
            latest[guardrail_id] = (was_open or resolved_at is None, max(most, seen or 0))
        created = []
        for guardrail in guardrails:
            is_open, counted = latest.get(guardrail.pk, (False, 0))
            if is_open or reported <= counted:
                continue  # already on record: a repeat, or no exposure since the last one
            breach = GuardrailBreach(
                guardrail=guardrail,
                round=feedback_round,
                pilot_id=feedback_round.pilot_id,
                trigger=GuardrailBreach.Trigger.EXPOSURE,
                exposure_reports=reported,
                rule=breach_text.rule_facts(guardrail, feedback_round, shown=False),
                created_at=timezone.now(),
            )
            breach.detail = breach_text.describe(breach)
            breach.save()
            created.append(breach)
        _act(pilot, created)
    return created


def record_incident_exposure(incident_id: str) -> list[GuardrailBreach]:
    """Breach every exposure guardrail of the pilot an exposure incident is about, at once.

    The follow-up of `incidents.reporting.report`. Repeats are harmless: an incident already
    linked to breaches is done.
    """
    with transaction.atomic():
        incident = Incident.objects.filter(pk=incident_id, kind=EXPOSURE_KIND).first()
        if incident is None or incident.pilot_id is None:
            return []
        pilot = Pilot.objects.select_for_update().get(pk=incident.pilot_id)
        if incident.breaches.exists():
            return []
        created = []
        for guardrail in pilot.guardrails.enabled().filter(forbids_data_exposure=True):
            breach = GuardrailBreach(
                guardrail=guardrail,
                pilot=pilot,
                trigger=GuardrailBreach.Trigger.EXPOSURE,
                exposure_reports=1,
                rule={**breach_text.incident_facts(guardrail, incident.reported_on)},
                created_at=timezone.now(),
            )
            breach.detail = breach_text.describe(breach)
            breach.save()
            created.append(breach)
        incident.breaches.add(*created)
        _act(pilot, created)
    return created


def check_resolution(*, actor, note: str) -> str:
    """The rules of resolving a breach, before any is touched: Ops only, with a note.

    Returns the note as it is stored. The admin's page for many breaches asks it first, so the
    rule is written here only.
    """
    note = (note or "").strip()
    if not access.may_resolve_breach(actor):
        raise PermissionRefused(_("Only Ops can resolve a guardrail breach."))
    if not note:
        raise ValidationFailed(
            _("Write a note saying how the breach was resolved."),
            code="note_required",
            field="note",
        )
    return note


def resolve_breach(breach_id: int, *, actor, note: str) -> GuardrailBreach:
    """Close an open breach with a note (Ops only)."""
    note = check_resolution(actor=actor, note=note)
    with transaction.atomic():
        breach = GuardrailBreach.objects.select_for_update().filter(pk=breach_id).first()
        if breach is None:
            raise ValidationFailed(_("This breach does not exist."), code="breach_not_found")
        if breach.resolved_at is not None:
            raise BreachAlreadyResolved(
                _("This breach was already resolved by someone else."), field="note"
            )
        breach.resolved_at = timezone.now()
        breach.resolved_by = actor
        breach.resolution_note = note
        breach.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        changelog.record(
            "breach.resolved",
            subject=breach,
            scope=breach.pilot,
            actor=actor,
            changes={"resolved": [False, True]},
            reason=note,
        )
        followups.announce(
            BREACH_RESOLVED, key=f"breach:{breach.pk}", payload={"breach_id": breach.pk}
        )
    return breach
