"""Celery tasks of the pilots app: thin adapters over pilots.guardrails.

Each takes a round id, makes one domain call and returns small JSON. Repeats are harmless: a
breach is unique per (guardrail, round), and the pause and the Ops email happen only for a
breach the call created.
"""

from __future__ import annotations

from celery import shared_task

from . import guardrails

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**TASK_OPTIONS)
def evaluate_round_guardrails(round_id: int) -> dict:
    """Evaluate a closed round's metric guardrails (breach records, pause, Ops email)."""
    breaches = guardrails.evaluate_round(round_id)
    return {"round": round_id, "breaches": len(breaches)}


@shared_task(**TASK_OPTIONS)
def record_exposure_incident(round_id: int) -> dict:
    """Breach, at once, every guardrail of the round's pilot that forbids data exposure."""
    breaches = guardrails.record_exposure_incident(round_id)
    return {"round": round_id, "breaches": len(breaches)}
