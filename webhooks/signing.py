"""The signature of a webhook body: `X-AIOps-Signature: t=<unix time>,v1=<hex>`.

v1 is HMAC-SHA256, keyed with the endpoint's secret, of `f"{t}.{body}"`: the timestamp is
signed with the body, so a receiver that refuses old timestamps also refuses a replayed call.
`verify` is what a receiver does (the README shows the same in a few lines).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
HEADER = "X-AIOps-Signature"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    value: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Tell whether a signature header is this body's, made less than `tolerance` s ago."""
    try:
        fields = dict(part.split("=", 1) for part in value.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(given, signature(secret, timestamp, body))
