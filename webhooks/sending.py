"""Sending a webhook: the outbox kind, its HTTP channel, attempts, and disabling an endpoint.

A delivery is of the outbox kind WEBHOOK, **at least once**: a failed call is retried with
exponential backoff; a call whose worker died may or may not have reached the receiver, so the
outbox's sweep sends it again. A receiver therefore sees each delivery at least once, and more
than once only when a worker died (or the call timed out) after the request left: every call
carries the delivery's idempotency key (`X-AIOps-Delivery`, the same on every attempt) for the
receiver to drop repeats.

Each call is a POST of JSON (Slack and Teams: their message format, with text), signed
(`X-AIOps-Signature`, webhooks.signing), to the address the SSRF guard checked just before
(webhooks.addresses), with a timeout and no redirect followed (a 3xx is a failure). Every call
is recorded as an Attempt with its status code. A 2xx resets the endpoint's count of
consecutive failures; anything else adds one, and at WEBHOOK_MAX_FAILURES the endpoint is
disabled and Ops are emailed (through the outbox, at least once). Deliveries of a disabled or
removed endpoint are not sent (cancelled).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import changelog, languages, outbox
from core.exceptions import ValidationFailed
from core.models import Delivery as OutboxDelivery
from core.ops import ops_users
from pilots.models import Stage

from . import addresses, signing
from .events import WEBHOOK
from .models import Attempt, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

ENDPOINT_DISABLED = "webhook_disabled"
USER_AGENT = "AIOps-Webhooks/1"
# What is kept of a receiver's answer (an error page) in the attempt's record.
ANSWER_BYTES = 500


class CallFailed(Exception):
    """A webhook call that did not get a 2xx: the outbox retries it."""


@dataclass(frozen=True)
class Call:
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    key: str
    body: bytes


def body_of(delivery: Delivery) -> bytes:
    """The JSON a receiver gets: the same bytes on every attempt."""
    endpoint = delivery.endpoint
    if endpoint.kind == Endpoint.Kind.JSON:
        document = {
            "id": delivery.idempotency_key,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        }
    else:
        with translation.override(settings.LANGUAGE_CODE):
            title, text = message_text(delivery.event, delivery.payload)
        if endpoint.kind == Endpoint.Kind.SLACK:
            document = {"text": f"*{title}*\n{text}"}
        else:
            document = {
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": title,
                "title": title,
                "text": text,
            }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _stage(value: str) -> str:
    return Stage(value).label if value in Stage.values else value


def message_text(event: str, data: dict) -> tuple[str, str]:
    """A title and a line or two for a chat message (Slack, Teams)."""
    pilot = data.get("pilot") or {}
    names = {"pilot": pilot.get("title", ""), "team": pilot.get("team", "")}
    link = pilot.get("url", "")
    if event == Event.PILOT_SUBMITTED:
        title = _("Pilot submitted: %(pilot)s (%(team)s)") % names
        text = link
    elif event == Event.STAGE_CHANGED:
        title = _("%(pilot)s (%(team)s): %(from)s → %(to)s") % {
            **names,
            "from": _stage(data.get("from_stage", "")),
            "to": _stage(data.get("to_stage", "")),
        }
        text = "\n".join(filter(None, [data.get("rationale", ""), link]))
    elif event in (Event.BREACH_OPENED, Event.BREACH_RESOLVED):
        if event == Event.BREACH_OPENED:
            title = _("Guardrail broken: %(pilot)s (%(team)s)") % names
        else:
            title = _("Guardrail breach resolved: %(pilot)s (%(team)s)") % names
        text = "\n".join(filter(None, [(data.get("breach") or {}).get("detail", ""), link]))
    elif event == Event.ROUND_CLOSED:
        round_ = data.get("round") or {}
        title = _("Feedback round closed: %(pilot)s (%(team)s)") % names
        text = "\n".join(
            [
                _("%(responses)s of %(invited)s people answered.")
                % {"responses": round_.get("responses"), "invited": round_.get("invited")},
                link,
            ]
        )
    elif event == Event.DECLARATION_RECEIVED:
        declaration = data.get("declaration") or {}
        title = _("Tool declared: %(tool)s") % {"tool": declaration.get("tool_name", "")}
        text = "\n".join(filter(None, [declaration.get("used_for", ""), declaration.get("url")]))
    else:
        title, text = event, ""
    return title, text


def build(row: OutboxDelivery) -> Call | None:
    """The call of a claimed delivery; None (cancelled) if its endpoint is gone or off."""
    delivery = Delivery.objects.select_related("endpoint").filter(outbox=row).first()
    if delivery is None or not delivery.endpoint.active:
        return None
    endpoint = delivery.endpoint
    return Call(
        delivery_id=delivery.pk,
        endpoint_id=endpoint.pk,
        url=endpoint.url,
        secret=endpoint.secret,
        event=delivery.event,
        key=delivery.idempotency_key,
        body=body_of(delivery),
    )


def post(call: Call) -> tuple[int | None, str]:
    """POST the call to the address the SSRF guard checks now; (status code, error)."""
    try:
        target = addresses.resolve(call.url)
    except ValidationFailed as refused:
        return None, str(refused)
    timeout = settings.WEBHOOK_TIMEOUT
    if target.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect_to_checked_address(_address, timeout=timeout, source_address=None):
        # The name was resolved and checked just now: connect to that address, not to a second
        # answer of the DNS (rebinding). TLS still verifies the certificate against the name.
        return socket.create_connection((target.address, target.port), timeout, source_address)

    connection._create_connection = connect_to_checked_address
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-AIOps-Event": call.event,
        "X-AIOps-Delivery": call.key,
        signing.HEADER: signing.header(call.secret, call.body),
    }
    try:
        connection.request("POST", target.path, body=call.body, headers=headers)
        response = connection.getresponse()
        answer = response.read(ANSWER_BYTES)
    except (OSError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"[:2000]
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return response.status, ""
    return response.status, answer.decode("utf-8", "replace")


def send(row: OutboxDelivery, call: Call, _connection) -> None:
    """The outbox channel: make the call, record the attempt, raise unless it got a 2xx."""
    started = time.monotonic()
    status_code, error = post(call)
    took = int((time.monotonic() - started) * 1000)
    succeeded = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        numbered = Attempt.objects.filter(delivery_id=call.delivery_id).count()
        Attempt.objects.create(
            delivery_id=call.delivery_id,
            number=numbered + 1,
            status_code=status_code,
            error=error,
            duration_ms=took,
        )
        endpoint = Endpoint.objects.select_for_update().filter(pk=call.endpoint_id).first()
        if endpoint is not None:
            if succeeded:
                if endpoint.consecutive_failures:
                    Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
            else:
                _count_failure(endpoint, status_code, error)
    if not succeeded:
        raise CallFailed(f"HTTP {status_code}" if status_code else error)


def _count_failure(endpoint: Endpoint, status_code: int | None, error: str) -> None:
    Endpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    endpoint.refresh_from_db(fields=["consecutive_failures"])
    limit = settings.WEBHOOK_MAX_FAILURES
    if not endpoint.active or endpoint.consecutive_failures < limit:
        return
    last = f"HTTP {status_code}" if status_code else error.split("\n", 1)[0][:300]
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("%(count)d calls in a row failed; the last one: %(error)s") % {
            "count": endpoint.consecutive_failures,
            "error": last,
        }
    now = timezone.now()
    endpoint.active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["active", "disabled_at", "disabled_reason"])
    changelog.record(
        "webhook.disabled",
        subject=endpoint,
        actor=None,
        changes={"active": [True, False]},
        reason=reason,
        at=now,
    )
    _tell_ops(endpoint)


def _ops_recipients() -> list[str]:
    users = ops_users().exclude(email="").values_list("email", flat=True)
    return sorted({*users, *settings.OPS_EMAILS})


def _tell_ops(endpoint: Endpoint) -> None:
    """Queue an email to each Ops recipient that the endpoint was disabled (this transaction)."""
    recipients = _ops_recipients()
    if not recipients:
        logger.error("Webhook endpoint %s disabled: no Ops recipient to tell.", endpoint.pk)
    stamp = int(endpoint.disabled_at.timestamp())
    for email in recipients:
        outbox.enqueue(
            ENDPOINT_DISABLED,
            recipient=email,
            dedupe_key=f"{ENDPOINT_DISABLED}:{endpoint.pk}:{stamp}:{email}",
            payload={"endpoint_id": endpoint.pk},
            subject=endpoint,
        )


def build_disabled_alert(row: OutboxDelivery) -> outbox.Email | None:
    """The email telling Ops an endpoint was disabled (gone or enabled again: not needed)."""
    endpoint = Endpoint.objects.filter(pk=row.payload.get("endpoint_id")).first()
    if endpoint is None or endpoint.active:
        return None
    reader = ops_users().filter(email=row.recipient).first()
    url = settings.SITE_URL.rstrip("/") + reverse(
        "admin:webhooks_endpoint_change", args=[endpoint.pk]
    )
    with translation.override(languages.language_of(reader)):
        subject = _("Webhook disabled: %(name)s") % {"name": endpoint.name}
        body = _(
            "The webhook endpoint %(name)s (%(url)s) was disabled: %(reason)s\n\n"
            "Nothing is sent to it until it is made active again:\n%(admin)s"
        ) % {
            "name": endpoint.name,
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
            "admin": url,
        }
    return outbox.Email(subject=subject, body=body)


def _backoff(attempt: int) -> float:
    # 30 s, 1, 2, 4, 8, 16 min, then hourly: the outbox's sweep (every 2 minutes) sends it
    # once due.
    return min(30 * 2 ** (attempt - 1), 3600)


WEBHOOK_KIND = outbox.Kind(WEBHOOK, outbox.AT_LEAST_ONCE, build, max_attempts=8, backoff=_backoff)
DISABLED_KIND = outbox.Kind(
    ENDPOINT_DISABLED,
    outbox.AT_LEAST_ONCE,
    build_disabled_alert,
    max_attempts=6,
    backoff=lambda attempt: min(60 * 2 ** (attempt - 1), 300),
)
