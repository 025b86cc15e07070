"""Every write leaves a record: who, when, what changed (before/after), why.

Domain functions call `record` inside their own transaction, so a change and its record commit
or roll back together. Records are append-only (a trigger refuses UPDATE and DELETE on
PostgreSQL and SQLite). `snapshot` and `diff` turn model rows into the JSON the record keeps.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from .models import ChangeRecord


def plain(value: Any) -> Any:
    """A JSON-safe copy of a field value (a related row becomes its id)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The given fields of a row, JSON-safe (foreign keys by id)."""
    out = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = plain(getattr(instance, attname))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for every field whose value changed."""
    names = [*before, *(k for k in after if k not in before)]
    return {
        name: [plain(before.get(name)), plain(after.get(name))]
        for name in names
        if plain(before.get(name)) != plain(after.get(name))
    }


def record(
    action: str,
    *,
    subject: models.Model,
    actor,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    scope: models.Model | None = None,
    at: datetime.datetime | None = None,
) -> ChangeRecord:
    """Write one change record. `actor` None means the system (or an anonymous person)."""
    return ChangeRecord.objects.create(
        action=action,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=False),
        subject_id=str(subject.pk),
        scope_type=(
            ContentType.objects.get_for_model(scope, for_concrete_model=False)
            if scope is not None
            else None
        ),
        scope_id=scope.pk if scope is not None else None,
        changes=plain(dict(changes or {})),
        reason=reason or "",
        created_at=at or timezone.now(),
    )


def history(scope: models.Model):
    """Every record about a row and what hangs off it, oldest first (one query)."""
    return ChangeRecord.objects.filter(
        scope_type=ContentType.objects.get_for_model(scope, for_concrete_model=False),
        scope_id=scope.pk,
    ).select_related("actor", "subject_type")


def in_period(start: datetime.datetime, end: datetime.datetime):
    """Every record of a period, oldest first: the audit log Ops export."""
    return ChangeRecord.objects.filter(created_at__gte=start, created_at__lt=end).select_related(
        "actor", "subject_type", "scope_type"
    )
