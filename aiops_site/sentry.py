"""Optional error reporting to Sentry (SENTRY_DSN), with personal data scrubbed before sending.

No user, no client address, no cookie or authorization header, no request body, and answer
tokens redacted from every URL, message and breadcrumb. An error on an answer page keeps no
request data at all, and no timestamp finer than the event itself (Sentry needs that one).
"""

from __future__ import annotations

from typing import Any

from feedback.log_filters import is_answer_request, redact

DROPPED_HEADERS = {"authorization", "cookie", "x-forwarded-for", "x-real-ip", "x-csrftoken"}


def _redact_all(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_all(v) for k, v in value.items()}
    return value


def scrub(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: the event without anything that names or dates a person."""
    event.pop("user", None)
    event.pop("server_name", None)
    request = event.get("request") or {}
    if is_answer_request(request.get("url", "") or ""):
        event["request"] = {"url": redact(request.get("url", ""))}
    elif request:
        request.pop("cookies", None)
        request.pop("data", None)
        request.pop("env", None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() not in DROPPED_HEADERS}
        event["request"] = request
    return _redact_all(event)


def init(dsn: str, *, environment: str = "") -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub,
        before_breadcrumb=lambda crumb, hint: _redact_all(crumb),
        traces_sample_rate=0.0,
    )
