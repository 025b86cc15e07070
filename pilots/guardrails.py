"""Guardrail breach detection and its action (filled in by the evidence work)."""

from __future__ import annotations


def evaluate_round(round_id: int) -> list:
    """Evaluate every metric guardrail of a closed round's pilot; return the new breaches."""
    return []


def record_exposure_incident(round_id: int) -> list:
    """Record a breach of every guardrail of the round's pilot that forbids data exposure."""
    return []
