"""Celery tasks of the pilots app: thin adapters over pilots.guardrails.

Each takes an id (or, for the periodic sweep, nothing), makes one domain call and returns small
JSON. Repeats are harmless: a breach is unique per (guardrail, round), the pause happens only
for a breach the call created, and the Ops email of a breach is sent only by the worker whose
conditional UPDATE claimed it (queued → sending).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import guardrails

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}
# A failed Ops email is retried after 1, 2, 4, 5 and 5 minutes. Every wait is shorter than the
# sweep's GUARDRAIL_NOTIFY_STUCK_MINUTES (10), so the sweep does not start a second chain of
# retries while this one lives; after the last one the sweep takes over. Every wait is also far
# below the Redis visibility timeout.
NOTIFY_MAX_RETRIES = 5
NOTIFY_MAX_BACKOFF_SECONDS = 300


@shared_task(bind=True, max_retries=NOTIFY_MAX_RETRIES, **TASK_OPTIONS)
def notify_breach(self, breach_id: int) -> dict:
    """Email Ops about a breach; retry with backoff while the mail server fails."""
    outcome = guardrails.notify_breach(breach_id)
    if outcome == guardrails.NotifyOutcome.FAILED and self.request.retries < self.max_retries:
        countdown = min(60 * 2**self.request.retries, NOTIFY_MAX_BACKOFF_SECONDS)
        raise self.retry(countdown=countdown)
    return {"breach": breach_id, "outcome": outcome}


@shared_task(**TASK_OPTIONS)
def sweep_stuck_breach_notifications() -> dict:
    """Requeue breach emails stuck in sending; re-enqueue the queued ones left behind."""
    return guardrails.sweep_stuck_notifications(now=timezone.now())
