"""Aggregated results of a closed round (filled in by the evidence work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import FeedbackRound


def compute_results(feedback_round: FeedbackRound) -> dict:
    """Return the round's aggregated results, to be stored on the round when it closes."""
    return {}
