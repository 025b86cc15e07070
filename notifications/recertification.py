"""Reminders that an approved standard's re-certification date is near.

`remind_recertifications`, ticked by beat, looks at every standard in force whose date is at
most the largest of `RECERTIFICATION_REMINDER_DAYS` away (30 and 7 by default) and writes one
outbox delivery per person — Ops (active, with an email) and the standard's lead — for the
nearest threshold reached, keyed `recertification:<use>:<date>:<threshold>:<user>`. The key's
unique constraint makes each reminder go once per threshold, however often beat ticks; a
re-certified standard has a new date, so its reminders start again. A standard whose date has
passed is flagged on the Ops home (decisions.views) instead. The email is written when sent,
in the reader's language, and cancelled if the standard was re-certified or retired meanwhile.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import outbox
from core.models import Delivery
from core.ops import ops_users
from pilots.models import ApprovedUse

from . import preferences

RECERTIFICATION = "recertification"


def thresholds() -> list[int]:
    return sorted({d for d in settings.RECERTIFICATION_REMINDER_DAYS if d >= 0})


def threshold_reached(days_left: int) -> int | None:
    """The nearest threshold a standard `days_left` from its date has reached (None: none)."""
    reached = [t for t in thresholds() if days_left <= t]
    return min(reached) if reached and days_left >= 0 else None


def remind_recertifications(*, today: datetime.date | None = None) -> int:
    """Queue the reminders due today; return how many were written (0 on a repeat)."""
    today = today or timezone.localdate()
    limits = thresholds()
    if not limits:
        return 0
    due = (
        ApprovedUse.objects.current()
        .filter(recertify_on__gte=today, recertify_on__lte=today + datetime.timedelta(max(limits)))
        .select_related("pilot__lead")
        .order_by("recertify_on", "pk")
    )
    ops = list(ops_users().exclude(email="").order_by("pk"))
    queued = 0
    with transaction.atomic():
        for approved in due:
            threshold = threshold_reached((approved.recertify_on - today).days)
            if threshold is None:
                continue
            people = {u.pk: u for u in ops}
            lead = approved.pilot.lead
            if lead is not None and lead.is_active and lead.email:
                people.setdefault(lead.pk, lead)
            for user in people.values():
                delivery = outbox.enqueue(
                    RECERTIFICATION,
                    recipient=user.email,
                    recipient_user=user,
                    dedupe_key=(
                        f"{RECERTIFICATION}:{approved.pk}:{approved.recertify_on.isoformat()}"
                        f":{threshold}:{user.pk}"
                    ),
                    payload={"id": approved.pk, "date": approved.recertify_on.isoformat()},
                    subject=approved,
                )
                queued += delivery is not None
    return queued


def build(delivery: Delivery) -> outbox.Email | None:
    """The reminder, in its reader's language (None: re-certified or retired meanwhile)."""
    approved = (
        ApprovedUse.objects.current()
        .select_related("pilot")
        .filter(pk=delivery.payload.get("id"))
        .first()
    )
    user = delivery.recipient_user
    if approved is None or user is None or not user.is_active:
        return None
    if approved.recertify_on.isoformat() != delivery.payload.get("date"):
        return None
    language = preferences.language_of(user)
    days_left = (approved.recertify_on - timezone.localdate()).days
    with translation.override(language):
        date = formats.date_format(approved.recertify_on, "SHORT_DATE_FORMAT")
        subject = _("%(pilot)s: re-certify the standard by %(date)s") % {
            "pilot": approved.pilot.title,
            "date": date,
        }
        body = "\n".join(
            [
                ngettext(
                    "The approved standard %(pilot)s must be re-certified by %(date)s, in "
                    "%(days)d day.",
                    "The approved standard %(pilot)s must be re-certified by %(date)s, in "
                    "%(days)d days.",
                    days_left,
                )
                % {"pilot": approved.pilot.title, "date": date, "days": days_left},
                _("Approved for: %(use)s") % {"use": approved.use},
                _("Ops re-certify it in the admin (Approved uses), with a new date."),
                settings.SITE_URL.rstrip("/") + approved.pilot.get_absolute_url(),
            ]
        )
    return outbox.Email(subject=subject, body=body, headers={"Content-Language": language})


RECERTIFICATION_KIND = outbox.Kind(
    name=RECERTIFICATION, semantics=outbox.AT_LEAST_ONCE, build=build, max_attempts=5
)
