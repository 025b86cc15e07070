"""Watching a pilot: anyone who may see it can ask to hear what happens to it."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.exceptions import ValidationFailed
from pilots.models import Pilot

from .models import Watch


def _visible(pilot_id: int, actor) -> Pilot:
    pilot = Pilot.objects.visible_to(actor).filter(pk=pilot_id).first()
    if pilot is None:
        # The same answer whether it does not exist or may not be seen.
        raise ValidationFailed(_("This pilot does not exist."), code="pilot_missing", field="pilot")
    return pilot


def watch(pilot_id: int, *, actor) -> Watch:
    """Have `actor` watch a pilot they may see; watching twice is one watch."""
    pilot = _visible(pilot_id, actor)
    try:
        with transaction.atomic():
            return Watch.objects.create(user=actor, pilot=pilot)
    except IntegrityError:
        return Watch.objects.get(user=actor, pilot=pilot)


def unwatch(pilot_id: int, *, actor) -> bool:
    """Stop `actor` watching a pilot; return whether they were watching it."""
    deleted, _rows = Watch.objects.filter(user=actor, pilot_id=pilot_id).delete()
    return bool(deleted)


def is_watching(pilot: Pilot, user) -> bool:
    return user.is_authenticated and Watch.objects.filter(user=user, pilot=pilot).exists()
