"""Celery tasks of the feedback app: thin adapters over feedback.scheduling.

The periodic ones are ticked by beat (settings.CELERY_BEAT_SCHEDULE) and take no argument;
the per-round ones take a round id. Each is enqueued with delay_on_commit and safe to run
twice or twice at once: the database constraints and conditional updates in scheduling make
repeats no-ops.
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
def send_prompts(round_id: int) -> dict:
    """Email the queued prompts of a round; re-enqueue itself while some remain."""
    report = scheduling.send_prompts(round_id)
    if report.remaining:
        send_prompts.delay(round_id)
    return report.as_dict()


@shared_task(**TASK_OPTIONS)
def send_prompts_for_rounds(round_ids: list[int]) -> dict:
    """Enqueue send_prompts for each newly opened round (one message from open_due_rounds)."""
    for round_id in round_ids:
        send_prompts.delay(round_id)
    return {"rounds": len(round_ids)}


@shared_task(**TASK_OPTIONS)
def remind() -> dict:
    """Queue the halfway reminders of open rounds (send_reminders does the emailing)."""
    return {"rounds": scheduling.remind()}


@shared_task(**TASK_OPTIONS)
def send_reminders(round_id: int) -> dict:
    """Email the queued reminders of a round; re-enqueue itself while some remain."""
    report = scheduling.send_reminders(round_id)
    if report.remaining:
        send_reminders.delay(round_id)
    return report.as_dict()


@shared_task(**TASK_OPTIONS)
def close_due_rounds() -> dict:
    """Enqueue close_round for every open round whose window has passed."""
    return {"closing": scheduling.close_due_rounds()}


@shared_task(**TASK_OPTIONS)
def close_round(round_id: int) -> dict:
    """Close one round: counts, results, guardrail evaluation after commit."""
    closed = scheduling.close_round(round_id)
    return {"round": round_id, "closed": closed is not None}


@shared_task(**TASK_OPTIONS)
def sweep_stuck_prompts() -> dict:
    """Fail prompts and reminders stuck in 'sending'; re-enqueue forgotten sends."""
    return scheduling.sweep_stuck_prompts()
