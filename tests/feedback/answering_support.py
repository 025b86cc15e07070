"""Shared set-up of the answering tests: a pulse round, prompts with known tokens, answers."""

from __future__ import annotations

from feedback import tokens
from feedback.models import FeedbackRound, Prompt
from tests.factories import FeedbackRoundFactory, PilotFactory, PromptFactory, pulse_questionnaire

GOOD_ANSWERS = {
    "minutes_saved": "30",
    "quality": "4",
    "trust": "3",
    "recommend": "8",
    "incident": "no",
}


def pulse_round(*, anonymous: bool = True, stage: str = "pilot", **pilot_kwargs) -> FeedbackRound:
    if stage == "paused":
        pilot_kwargs.setdefault("paused_from", "pilot")
    pilot = PilotFactory(stage=stage, anonymous_feedback=anonymous, **pilot_kwargs)
    return FeedbackRoundFactory(pilot=pilot, questionnaire=pulse_questionnaire(), invited_count=50)


def prompt_with_token(feedback_round: FeedbackRound, user) -> tuple[Prompt, str]:
    token, token_hash = tokens.make_token()
    return PromptFactory(round=feedback_round, participant=user, token_hash=token_hash), token
