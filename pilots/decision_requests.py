"""A lead's request for a decision: promote or stop their pilot, with a message to Ops.

`request` is the lead's write; `close_open` is called by `pilots.lifecycle.move` in its
transaction, so the move that follows a request (whatever Ops decided) answers it; `decline` is
Ops' answer without a move ("not now", with a reply), announced as DECISION_DECLINED so the lead
is told (notifications subscribes). Each leaves a change record in the pilot's history.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog, followups
from core.exceptions import PermissionRefused, ValidationFailed
from core.ops import is_ops

from . import access, lifecycle
from .models import DecisionRequest, Pilot, StageChange

# The follow-up cause a declined request announces (core.followups): subscribers get its id.
DECISION_DECLINED = "decision_declined"


def request(pilot_id: int, *, actor, action: str, message: str) -> DecisionRequest:
    """Ask Ops to promote or stop a pilot, with a message; one open request per pilot.

    Raises PermissionRefused (not the pilot's lead), ValidationFailed with the field action
    (unknown, or not possible from the pilot's stage), message (empty) or action with the code
    request_open (a request already waits).
    """
    message = (message or "").strip()
    if action not in DecisionRequest.Action.values:
        raise ValidationFailed(
            _("Ask to promote or to stop the pilot."), code="unknown_action", field="action"
        )
    if not message:
        raise ValidationFailed(
            _("Tell Ops why, in a few words."), code="message_required", field="message"
        )
    with transaction.atomic():
        pilot = Pilot.objects.select_for_update().select_related("team").get(pk=pilot_id)
        if not access.may_request_decision(actor, pilot):
            raise PermissionRefused(_("Only the pilot's lead can ask for a decision."))
        # The same legality the move will be checked against (IllegalTransition, a 409).
        lifecycle.find_transition(pilot.stage, action)
        try:
            with transaction.atomic():
                made = DecisionRequest.objects.create(
                    pilot=pilot, action=action, message=message, requested_by=actor
                )
        except IntegrityError:
            raise ValidationFailed(
                _("A request for a decision is already waiting for Ops."),
                code="request_open",
                field="action",
            ) from None
        changelog.record(
            "decision.requested",
            subject=made,
            scope=pilot,
            actor=actor,
            changes={"action": [None, action]},
            reason=message,
            at=made.requested_at,
        )
        return made


def close_open(
    pilot: Pilot, *, change: StageChange, actor, now: datetime.datetime | None = None
) -> DecisionRequest | None:
    """Answer the pilot's open request with this stage move (lifecycle.move calls it)."""
    waiting = DecisionRequest.objects.select_for_update().filter(
        pilot=pilot, status=DecisionRequest.Status.OPEN
    )
    found = waiting.first()
    if found is None:
        return None
    found.status = DecisionRequest.Status.CLOSED
    found.stage_change = change
    found.save(update_fields=["status", "stage_change"])
    changelog.record(
        "decision.answered",
        subject=found,
        scope=pilot,
        actor=actor,
        changes={"status": ["open", "closed"], "stage": [change.from_stage, change.to_stage]},
        reason=change.rationale,
        at=now or timezone.now(),
    )
    return found


def decline(request_id: int, *, actor, reply: str) -> DecisionRequest:
    """Answer an open request without moving the pilot, with a reply the lead is told (Ops).

    Raises PermissionRefused (not Ops), ValidationFailed with the field reply (empty) or
    status (the request was answered meanwhile, code request_answered).
    """
    if not is_ops(actor):
        raise PermissionRefused(_("Only Ops can answer a request for a decision."), code="not_ops")
    reply = (reply or "").strip()
    if not reply:
        raise ValidationFailed(
            _("Write your reply to the lead: why not now, and what would change your mind."),
            code="reply_required",
            field="reply",
        )
    with transaction.atomic():
        found = (
            DecisionRequest.objects.select_for_update().select_related("pilot").get(pk=request_id)
        )
        if found.status != DecisionRequest.Status.OPEN:
            raise ValidationFailed(
                _("This request was already answered."), code="request_answered", field="status"
            )
        now = timezone.now()
        found.status = DecisionRequest.Status.DECLINED
        found.reply = reply
        found.declined_by = actor
        found.declined_at = now
        found.save(update_fields=["status", "reply", "declined_by", "declined_at"])
        changelog.record(
            "decision.declined",
            subject=found,
            scope=found.pilot,
            actor=actor,
            changes={"status": ["open", "declined"]},
            reason=reply,
            at=now,
        )
        followups.announce(
            DECISION_DECLINED,
            key=f"decision_request:{found.pk}",
            payload={"decision_request_id": found.pk},
        )
    return found
