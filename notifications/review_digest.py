"""The daily digest to Ops of what waits for them longer than the review SLA.

`send_review_digest`, ticked by beat, writes one outbox delivery per active Ops user with an
email, keyed by the local day and the person (`review_digest:<day>:<user>`): the key's unique
constraint makes a second run the same day (a second beat, a repeated message) write nothing.
Nothing overdue, no delivery. The email is written when it is sent, from what is overdue then
(pilots.review_sla, the one home of the rule) and in the reader's language; if everything was
handled meanwhile, it is cancelled.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import outbox
from core.models import Delivery
from core.ops import is_ops, ops_users
from pilots import review_sla

from . import preferences

REVIEW_DIGEST = "review_digest"
# How many of each list an email names; the rest are counted.
LISTED = 20


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_review_digest(*, now: datetime.datetime | None = None) -> int:
    """Queue today's digest for every Ops user, if anything is overdue; return how many."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.REVIEW_DIGEST_HOUR:
        return 0
    if (
        not review_sla.overdue_proposals(now).exists()
        and not review_sla.overdue_requests(now).exists()
    ):
        return 0
    day = local.date().isoformat()
    queued = 0
    with transaction.atomic():
        for user in ops_users().exclude(email="").order_by("pk"):
            delivery = outbox.enqueue(
                REVIEW_DIGEST,
                recipient=user.email,
                recipient_user=user,
                dedupe_key=f"{REVIEW_DIGEST}:{day}:{user.pk}",
                payload={"day": day},
            )
            queued += delivery is not None
    return queued


def _when(moment: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def digest_email(now: datetime.datetime | None = None) -> outbox.Email | None:
    """The digest as it stands now, in the active language (None: nothing is overdue)."""
    now = now or timezone.now()
    proposals = review_sla.overdue_proposals(now).select_related("team")
    requests = review_sla.overdue_requests(now).select_related("pilot__team", "requested_by")
    n_proposals, n_requests = proposals.count(), requests.count()
    if not n_proposals and not n_requests:
        return None
    days = review_sla.sla_days()
    subject = _("Waiting for Ops longer than %(days)d days: %(count)d") % {
        "days": days,
        "count": n_proposals + n_requests,
    }
    lines = []
    if n_proposals:
        lines.append(
            ngettext(
                "%(count)d proposal waits for review for longer than %(days)d days:",
                "%(count)d proposals wait for review for longer than %(days)d days:",
                n_proposals,
            )
            % {"count": n_proposals, "days": days}
        )
        lines += [
            _("- %(pilot)s (%(team)s), waiting since %(since)s: %(url)s")
            % {
                "pilot": p.title,
                "team": p.team.name,
                "since": _when(p.stage_changed_at),
                "url": _absolute(p.get_absolute_url()),
            }
            for p in proposals[:LISTED]
        ]
        lines.append("")
    if n_requests:
        lines.append(
            ngettext(
                "%(count)d lead waits for a decision for longer than %(days)d days:",
                "%(count)d leads wait for a decision for longer than %(days)d days:",
                n_requests,
            )
            % {"count": n_requests, "days": days}
        )
        lines += [
            _("- %(pilot)s (%(team)s): %(action)s, asked on %(since)s: %(url)s")
            % {
                "pilot": r.pilot.title,
                "team": r.pilot.team.name,
                "action": r.get_action_display(),
                "since": _when(r.requested_at),
                "url": _absolute(r.pilot.get_absolute_url()),
            }
            for r in requests[:LISTED]
        ]
        lines.append("")
    lines += [
        _("Everything waiting for you is on your home: %(url)s")
        % {"url": _absolute(reverse("home"))},
        "",
        "-- ",
        _("You get this email because you are in Ops."),
    ]
    return outbox.Email(subject=subject, body="\n".join(lines))


def build(delivery: Delivery) -> outbox.Email | None:
    """Write one Ops user's digest at send time (None: no longer Ops, or nothing overdue)."""
    user = delivery.recipient_user
    if user is None or not is_ops(user):
        return None
    language = preferences.language_of(user)
    with translation.override(language):
        email = digest_email()
    if email is None:
        return None
    return outbox.Email(
        subject=email.subject, body=email.body, headers={"Content-Language": language}
    )


REVIEW_DIGEST_KIND = outbox.Kind(
    name=REVIEW_DIGEST, semantics=outbox.AT_LEAST_ONCE, build=build, max_attempts=5
)
