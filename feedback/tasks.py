"""Celery tasks of the feedback app: thin adapters over feedback.scheduling.

The periodic ones are ticked by beat (settings.CELERY_BEAT_SCHEDULE) and take no argument;
the per-round one takes a round id. Each is safe to run twice or twice at once: the database
constraints and conditional updates in scheduling make repeats no-ops. The participant emails
themselves are deliveries of the outbox (core.tasks sends them).
"""

from __future__ import annotations

from celery import shared_task

from . import scheduling

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**TASK_OPTIONS)
def open_due_rounds() -> dict:
    """Open the current period's round of every active pilot that has none."""
    return {"opened": scheduling.open_due_rounds()}


@shared_task(**TASK_OPTIONS)
def remind() -> dict:
    """Queue the halfway reminders of open rounds (the outbox sends them)."""
    return {"rounds": scheduling.remind()}


@shared_task(**TASK_OPTIONS)
def close_due_rounds() -> dict:
    """Enqueue close_round for every open round whose window has passed."""
    return {"closing": scheduling.close_due_rounds()}


@shared_task(**TASK_OPTIONS)
def close_round(round_id: int) -> dict:
    """Close one round: counts, results, and its guardrail evaluation as follow-up work."""
    closed = scheduling.close_round(round_id)
    return {"round": round_id, "closed": closed is not None}
