"""Celery tasks of the pilots app: thin adapters over pilots.budget.

`enforce_budgets` is ticked by beat (settings.CELERY_BEAT_SCHEDULE) and takes no argument; the
database decides what is due. Safe to run twice or twice at once: `budget.enforce` locks each
pilot and re-checks it, and a paused pilot is not paused again.
"""

from __future__ import annotations

from celery import shared_task

from . import budget

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**TASK_OPTIONS)
def enforce_budgets() -> dict:
    """Pause the running pilots over their cap whose budget guardrail says pause."""
    return {"paused": budget.enforce_all()}
