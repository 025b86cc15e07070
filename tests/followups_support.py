"""Follow-up work in tests: what a commit asked for, and running it as a worker would."""

from __future__ import annotations

from django.db import transaction

from core import followups
from core.models import FollowUp


def requested(kind: str, field: str = "round_id") -> list:
    """The `field` of every follow-up of a kind written so far, oldest first."""
    return [row.payload.get(field) for row in FollowUp.objects.filter(kind=kind).order_by("pk")]


def follow_up(kind: str, **payload) -> str:
    """Write a follow-up as its cause would, then run it as the worker would after commit."""
    key = ":".join(f"{k}={v}" for k, v in sorted(payload.items()))
    with transaction.atomic():
        row = followups.request(kind, key=key, payload=payload)
    return followups.run(row.pk)
