"""Ops register, change, re-enable and remove webhook endpoints (the one home of those writes).

Each write checks its actor with core.ops.may_manage_webhooks, validates like every adapter
(the admin, the API) shows it, and leaves a change record — without the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from core.ops import may_manage_webhooks

from . import addresses, signing
from .models import Endpoint, Event

FIELDS = ("name", "kind", "url", "events", "active")


@dataclass(frozen=True)
class Registered:
    endpoint: Endpoint
    # Shown once to whoever registered the endpoint (or rotated its secret).
    secret: str


def _require(actor) -> None:
    if not may_manage_webhooks(actor):
        raise PermissionRefused(_("Only Ops can manage webhooks."))


def check_fields(fields: dict) -> dict:
    """Return the fields an endpoint may be given, checked (the URL by the SSRF guard)."""
    cleaned = {k: v for k, v in fields.items() if k in FIELDS}
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise ValidationFailed(_("Name the endpoint."), code="required", field="name")
    if "kind" in cleaned and cleaned["kind"] not in Endpoint.Kind.values:
        raise ValidationFailed(_("Choose a kind of endpoint."), code="invalid", field="kind")
    if "events" in cleaned:
        events = list(dict.fromkeys(cleaned["events"] or []))
        unknown = [e for e in events if e not in Event.values]
        if unknown or not events:
            raise ValidationFailed(
                _("Choose at least one event among: %(events)s.")
                % {"events": ", ".join(Event.values)},
                code="invalid_events",
                field="events",
            )
        cleaned["events"] = events
    if "url" in cleaned:
        cleaned["url"] = (cleaned["url"] or "").strip()
        addresses.resolve(cleaned["url"])
    return cleaned


def _save(endpoint: Endpoint) -> None:
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:
        if Endpoint.objects.filter(name=endpoint.name).exclude(pk=endpoint.pk).exists():
            raise ValidationFailed(
                _("An endpoint named “%(name)s” exists already.") % {"name": endpoint.name},
                code="unique",
                field="name",
            ) from None
        raise


def _shown(endpoint: Endpoint) -> dict:
    return {f: getattr(endpoint, f) for f in FIELDS}


def register(
    *,
    actor,
    name: str,
    url: str,
    events: list[str],
    kind: str = "json",
    active: bool = True,
) -> Registered:
    """Register an endpoint with a new secret; return it and the secret (shown once)."""
    _require(actor)
    cleaned = check_fields(
        {"name": name, "url": url, "events": events, "kind": kind, "active": bool(active)}
    )
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = Endpoint(**cleaned, secret=secret)
        _save(endpoint)
        changelog.record(
            "webhook.registered",
            subject=endpoint,
            actor=actor,
            changes={f: [None, v] for f, v in _shown(endpoint).items()},
        )
    return Registered(endpoint=endpoint, secret=secret)


def update(endpoint_id: int, *, actor, fields: dict) -> Endpoint:
    """Change an endpoint's name, kind, URL, events or active flag.

    Turning it active again starts its failure count afresh and clears why it was disabled.
    """
    _require(actor)
    cleaned = check_fields(fields)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        before = _shown(endpoint)
        for name, value in cleaned.items():
            setattr(endpoint, name, value)
        if endpoint.active and not before["active"]:
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        _save(endpoint)
        after = _shown(endpoint)
        changes = {f: [before[f], after[f]] for f in FIELDS if before[f] != after[f]}
        if changes:
            changelog.record("webhook.changed", subject=endpoint, actor=actor, changes=changes)
    return endpoint


def rotate_secret(endpoint_id: int, *, actor) -> Registered:
    """Give an endpoint a new secret (the old one stops signing at once); return it once."""
    _require(actor)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.secret = signing.new_secret()
        endpoint.save(update_fields=["secret"])
        changelog.record("webhook.secret_rotated", subject=endpoint, actor=actor)
    return Registered(endpoint=endpoint, secret=endpoint.secret)


def remove(endpoint_id: int, *, actor) -> None:
    """Delete an endpoint and its deliveries' records (the outbox keeps its rows)."""
    _require(actor)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        changelog.record(
            "webhook.removed",
            subject=endpoint,
            actor=actor,
            changes={f: [v, None] for f, v in _shown(endpoint).items()},
        )
        endpoint.delete()
