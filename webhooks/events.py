"""Which events become webhook deliveries, with what data, and when.

Each handler is a follow-up (core.followups) subscribed to a cause that pilots, feedback or
decisions announce in their own transaction: a stage move (pilot submitted, stage changed), a
closed round, a breach recorded or resolved, a tool declaration. It writes the event's data
once, then one delivery per active endpoint subscribed to the event into the one outbox, keyed
by endpoint and occurrence: a handler run twice, or a cause announced twice, makes one delivery
per endpoint.

The timing rule of anonymous rounds holds by construction: nothing is announced because
someone answered; a round's event exists only once it is closed, and carries its counts and
whether its results could be shown, never an answer or a figure; a breach from an exposure
report is sent at once (the accepted leak the anonymity rules name), without its round while
that round is open; a metric breach exists only after its round closed, worded by
pilots.breach_text, which follows the per-question threshold. A tool declaration never names
who declared it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from core import outbox
from feedback.models import FeedbackRound
from pilots import breach_text, lifecycle
from pilots.models import GuardrailBreach, Pilot, StageChange, ToolDeclaration

from .models import Delivery, Endpoint, Event

WEBHOOK = "webhook"
ON_STAGE_CHANGE = "webhook_stage_change"
ON_ROUND_CLOSED = "webhook_round_closed"
ON_BREACH_OPENED = "webhook_breach_opened"
ON_BREACH_RESOLVED = "webhook_breach_resolved"
ON_DECLARATION = "webhook_declaration"


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _pilot(pilot: Pilot) -> dict:
    return {
        "id": pilot.pk,
        "title": pilot.title,
        "team": pilot.team.name,
        "stage": pilot.stage,
        "url": _absolute(pilot.get_absolute_url()),
    }


def publish(event: str, occurrence: str, data: dict) -> int:
    """Queue the event for every active endpoint subscribed to it; return how many new.

    `occurrence` names what happened ("stage_change:42"): with the event it makes the
    idempotency key receivers get, the same on every attempt.
    """
    key = f"{event}/{occurrence}"
    queued = 0
    with transaction.atomic():
        for endpoint in Endpoint.objects.listening_to(event):
            try:
                with transaction.atomic():
                    row = outbox.enqueue(
                        WEBHOOK,
                        channel=WEBHOOK,
                        recipient=endpoint.url,
                        dedupe_key=f"{WEBHOOK}:{endpoint.pk}:{key}",
                        payload={"endpoint_id": endpoint.pk, "event": event},
                        subject=endpoint,
                    )
                    if row is None:
                        continue  # queued by an earlier run of this handler
                    Delivery.objects.create(
                        endpoint=endpoint,
                        outbox=row,
                        event=event,
                        idempotency_key=key,
                        payload=data,
                    )
            except IntegrityError:
                continue
            queued += 1
    return queued


def stage_changed(stage_change_id: int) -> int:
    """Publish a stage move (and, for a submission, pilot.submitted too)."""
    change = (
        StageChange.objects.select_related("pilot", "pilot__team", "actor")
        .filter(pk=stage_change_id)
        .first()
    )
    if change is None:
        return 0
    data = {
        "pilot": _pilot(change.pilot),
        "action": change.action,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "at": _iso(change.created_at),
        "by": change.actor.get_username() if change.actor else None,
        "rationale": change.rationale,
        "overridden": change.overridden,
    }
    occurrence = f"stage_change:{change.pk}"
    queued = publish(Event.STAGE_CHANGED, occurrence, data)
    if change.action == lifecycle.Action.SUBMIT:
        queued += publish(Event.PILOT_SUBMITTED, occurrence, data)
    return queued


def round_closed(round_id: int) -> int:
    """Publish a closed round: its counts and link, never an answer."""
    round_ = (
        FeedbackRound.objects.select_related("pilot", "pilot__team").filter(pk=round_id).first()
    )
    if round_ is None or round_.status != FeedbackRound.Status.CLOSED:
        return 0
    results = round_.results or {}
    data = {
        "round": {
            "id": round_.pk,
            "period_start": round_.period_start.isoformat(),
            "closed_at": _iso(round_.closed_at),
            "anonymous": round_.anonymous,
            "invited": round_.invited_count,
            "responses": round_.response_count,
            # Whether the anonymity threshold let the results be shown (on the pilot's page).
            "results_shown": bool(results.get("shown")),
        },
        "pilot": _pilot(round_.pilot),
    }
    return publish(Event.ROUND_CLOSED, f"round:{round_.pk}", data)


def _breach(breach: GuardrailBreach) -> dict:
    round_id = breach.round_id
    if breach.round is not None and breach.round.status != FeedbackRound.Status.CLOSED:
        round_id = None  # nothing about an open round beyond the breach itself
    return {
        "id": breach.pk,
        "trigger": breach.trigger,
        "detail": breach_text.describe(breach),
        "action_taken": breach.action_taken,
        "round": round_id,
        "opened_at": _iso(breach.created_at),
        "resolved_at": _iso(breach.resolved_at),
    }


def _breach_row(breach_id: int) -> GuardrailBreach | None:
    return (
        GuardrailBreach.objects.select_related("pilot", "pilot__team", "guardrail", "round")
        .filter(pk=breach_id)
        .first()
    )


def breach_opened(breach_id: int) -> int:
    breach = _breach_row(breach_id)
    if breach is None:
        return 0
    data = {"breach": _breach(breach), "pilot": _pilot(breach.pilot)}
    return publish(Event.BREACH_OPENED, f"breach:{breach.pk}", data)


def breach_resolved(breach_id: int) -> int:
    breach = _breach_row(breach_id)
    if breach is None or breach.resolved_at is None:
        return 0
    data = {
        "breach": _breach(breach),
        "pilot": _pilot(breach.pilot),
        "note": breach.resolution_note,
    }
    return publish(Event.BREACH_RESOLVED, f"breach:{breach.pk}", data)


def declaration_received(declaration_id: int) -> int:
    """Publish a tool declaration: the tool and its use, never who declared it."""
    declaration = ToolDeclaration.objects.select_related("team").filter(pk=declaration_id).first()
    if declaration is None:
        return 0
    data = {
        "declaration": {
            "id": declaration.pk,
            "tool_name": declaration.tool_name,
            "vendor": declaration.vendor,
            "used_for": declaration.used_for,
            "data_classification": declaration.data_classification,
            "team": declaration.team.name if declaration.team else None,
            "url": _absolute(reverse("admin:pilots_tooldeclaration_change", args=[declaration.pk])),
        }
    }
    return publish(Event.DECLARATION_RECEIVED, f"declaration:{declaration.pk}", data)
