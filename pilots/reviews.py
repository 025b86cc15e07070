"""Security and legal reviews: recorded by Ops, never by the pilot's own people, never rewritten.

A review feeds the gate to "approved standard", so it follows the audit rules: whoever leads or
submitted the pilot cannot review it (four eyes), and a review is append-only — a newer review of
the same kind supersedes the older one (the gate reads the latest of each kind).
"""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog, followups
from core.exceptions import PermissionRefused, ValidationFailed

from . import access
from .lifecycle import proposers
from .models import Pilot, Review
from .registry import validate_review

# What a change record keeps of a review.
REVIEW_FIELDS = ("kind", "outcome", "reviewed_on")
# The follow-up cause a recorded review announces (core.followups): subscribers get its id.
REVIEW_RECORDED = "review_recorded"


def check_reviewer(pilot: Pilot, actor: AbstractBaseUser | None) -> None:
    """Refuse anyone but an active Ops who neither leads nor submitted the pilot."""
    if not access.may_review(actor):
        raise PermissionRefused(_("Only Ops can record a review."), code="not_ops")
    if actor.pk in proposers(pilot):
        raise PermissionRefused(
            _("Four eyes: whoever leads or submitted a pilot cannot review it."),
            code="four_eyes",
        )


def validate_review_input(
    *, kind: str, outcome: str, notes: str, reviewed_on: datetime.date
) -> None:
    """Refuse an unknown kind or outcome, missing conditions, or a date in the future."""
    if kind not in Review.Kind.values:
        raise ValidationFailed(_("Choose security or legal."), code="invalid_kind", field="kind")
    if outcome not in Review.Outcome.values:
        raise ValidationFailed(_("Choose an outcome."), code="invalid_outcome", field="outcome")
    validate_review(outcome, notes)
    if reviewed_on > timezone.localdate():
        raise ValidationFailed(
            _("A review cannot be dated in the future."),
            code="date_in_future",
            field="reviewed_on",
        )


def record_review(
    pilot_id: int,
    *,
    actor: AbstractBaseUser | None,
    kind: str,
    outcome: str,
    notes: str = "",
    reviewed_on: datetime.date | None = None,
) -> Review:
    """Record a review of a pilot by `actor`, who becomes its reviewer."""
    reviewed_on = reviewed_on or timezone.localdate()
    validate_review_input(kind=kind, outcome=outcome, notes=notes, reviewed_on=reviewed_on)
    with transaction.atomic():
        # The same lock as a stage move: a submission cannot slip in between the four-eyes
        # check and the insert.
        try:
            pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        except Pilot.DoesNotExist:
            raise ValidationFailed(
                _("This pilot does not exist."), code="pilot_missing", field="pilot"
            ) from None
        check_reviewer(pilot, actor)
        review = Review.objects.create(
            pilot=pilot,
            kind=kind,
            outcome=outcome,
            notes=notes,
            reviewed_on=reviewed_on,
            reviewer=actor,
        )
        changelog.record(
            "review.recorded",
            subject=review,
            scope=pilot,
            actor=actor,
            changes=changelog.diff({}, changelog.snapshot(review, REVIEW_FIELDS)),
            reason=notes,
        )
        followups.announce(
            REVIEW_RECORDED, key=f"review:{review.pk}", payload={"review_id": review.pk}
        )
        return review
