"""Participants away for a period: no prompts and no reminders while it lasts.

feedback.scheduling reads Absence rows when it opens rounds and sends reminders; this module
only records and cancels them.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import PermissionRefused, ValidationFailed

from . import access
from .models import Absence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_ABSENCE_DAYS = 366


def mark_away(
    user: AbstractBaseUser,
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    actor: AbstractBaseUser | None = None,
) -> Absence:
    """Record that a participant is away from `starts_on` to `ends_on`, both included.

    The actor is the participant themselves (the default) or Ops recording it for them (the
    admin). An absence overlapping or touching one the participant already has is merged into
    it, so the participant never sees two rows for the same days.
    """
    actor = actor or user
    if not access.may_mark_away(actor, user):
        raise PermissionRefused(
            _("Only Ops can record someone else's absence."), code="not_your_absence"
        )
    check_period(starts_on, ends_on)
    return _record(user, starts_on, ends_on)


def check_period(starts_on: datetime.date | None, ends_on: datetime.date | None) -> None:
    """Refuse an absence period that is incomplete, reversed, over or too long."""
    today = timezone.localdate()
    if starts_on is None:
        raise ValidationFailed(
            _("Give the first day you are away."), code="required", field="starts_on"
        )
    if ends_on is None:
        raise ValidationFailed(
            _("Give the last day you are away."), code="required", field="ends_on"
        )
    if ends_on < starts_on:
        raise ValidationFailed(
            _("The last day must be on or after the first day."),
            code="dates_out_of_order",
            field="ends_on",
        )
    if ends_on < today:
        raise ValidationFailed(
            _("This period is already over."), code="in_the_past", field="ends_on"
        )
    if (ends_on - starts_on).days + 1 > MAX_ABSENCE_DAYS:
        raise ValidationFailed(
            _(
                "An absence lasts at most %(days)d days; leave the pilot instead if you stop "
                "taking part."
            )
            % {"days": MAX_ABSENCE_DAYS},
            code="too_long",
            field="ends_on",
        )


def _record(user: AbstractBaseUser, starts_on: datetime.date, ends_on: datetime.date) -> Absence:
    one_day = datetime.timedelta(days=1)
    with transaction.atomic():
        # Lock the participant's absences so two submissions do not both merge the same rows.
        touching = list(
            Absence.objects.select_for_update()
            .filter(
                user_id=user.pk, starts_on__lte=ends_on + one_day, ends_on__gte=starts_on - one_day
            )
            .order_by("starts_on")
        )
        if not touching:
            return Absence.objects.create(user_id=user.pk, starts_on=starts_on, ends_on=ends_on)
        keep, *merged = touching
        keep.starts_on = min([starts_on, *(a.starts_on for a in touching)])
        keep.ends_on = max([ends_on, *(a.ends_on for a in touching)])
        if merged:
            Absence.objects.filter(pk__in=[a.pk for a in merged]).delete()
        keep.save(update_fields=["starts_on", "ends_on"])
        return keep


def cancel_absence(absence_id: int, *, user: AbstractBaseUser) -> None:
    """Delete one of the participant's own absences (prompts resume with the next round)."""
    with transaction.atomic():
        deleted, _rows = Absence.objects.filter(pk=absence_id, user_id=user.pk).delete()
    if not deleted:
        raise PermissionRefused(_("This is not one of your absences."), code="not_your_absence")


def is_away(user_id: int, day: datetime.date) -> bool:
    return Absence.objects.filter(user_id=user_id, starts_on__lte=day, ends_on__gte=day).exists()
