"""Celery tasks of the pilots app: thin adapters over pilots.guardrails."""

from __future__ import annotations

from celery import shared_task

from . import guardrails


@shared_task(acks_late=True)
def evaluate_round_guardrails(round_id: int) -> dict:
    """Evaluate a closed round's metric guardrails (breach records, pause, Ops email)."""
    breaches = guardrails.evaluate_round(round_id)
    return {"round": round_id, "breaches": len(breaches)}


@shared_task(acks_late=True)
def record_exposure_incident(round_id: int) -> dict:
    """Breach, at once, every guardrail of the round's pilot that forbids data exposure."""
    breaches = guardrails.record_exposure_incident(round_id)
    return {"round": round_id, "breaches": len(breaches)}
