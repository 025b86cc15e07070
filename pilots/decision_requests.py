"""A lead's request for a decision: promote or stop their pilot, with a message to Ops.

`request` is the lead's write; `close_open` is called by `pilots.lifecycle.move` in its
transaction, so the move that follows a request (whatever Ops decided) answers it. Both leave a
change record in the pilot's history.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, lifecycle
from .models import DecisionRequest, Pilot, StageChange


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
