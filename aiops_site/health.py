"""GET /healthz: does the database answer, does the broker answer."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: the database does not answer.")
        return "error"
    return "ok"


def _broker() -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            # One attempt, no retry loop: a probe must answer quickly.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:  # kombu raises transport-specific errors; any of them means "down"
        logger.exception("Health check: the broker does not answer.")
        return "error"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the broker answer, 503 naming what failed."""
    parts = {"database": _database(), "broker": _broker()}
    status = 200 if all(v == "ok" for v in parts.values()) else 503
    return JsonResponse(parts, status=status)
