"""Review SLAs, the one place for them: how long a proposal or a lead's request for a decision
may wait for Ops before it is flagged.

A proposal waits from the moment it entered the stage proposed (`stage_changed_at`); a request
for a decision from the moment the lead asked (`requested_at`). Either is overdue once it has
waited longer than `REVIEW_SLA_DAYS` days: exactly that long is still on time. The Ops home
(decisions.views) and the daily digest to Ops (notifications.review_digest) both ask here.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import DecisionRequest, Pilot, Stage


def sla_days() -> int:
    """The days a proposal or a request may wait (REVIEW_SLA_DAYS, at least 1)."""
    return max(1, int(settings.REVIEW_SLA_DAYS))


def cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Whatever started waiting before this moment is overdue."""
    return (now or timezone.now()) - datetime.timedelta(days=sla_days())


def is_overdue(waiting_since: datetime.datetime, now: datetime.datetime | None = None) -> bool:
    return waiting_since < cutoff(now)


def overdue_proposal(now: datetime.datetime | None = None) -> Q:
    """The filter of an overdue proposal, for a count beside the total in one query."""
    return Q(stage=Stage.PROPOSED, stage_changed_at__lt=cutoff(now))


def overdue_request(now: datetime.datetime | None = None) -> Q:
    return Q(status=DecisionRequest.Status.OPEN, requested_at__lt=cutoff(now))


def overdue_proposals(now: datetime.datetime | None = None) -> QuerySet[Pilot]:
    """Proposals waiting for Ops longer than the SLA, longest waiting first."""
    return Pilot.objects.filter(overdue_proposal(now)).order_by("stage_changed_at", "pk")


def overdue_requests(now: datetime.datetime | None = None) -> QuerySet[DecisionRequest]:
    """Open requests for a decision waiting longer than the SLA, longest waiting first."""
    return DecisionRequest.objects.filter(overdue_request(now)).order_by("requested_at", "pk")
