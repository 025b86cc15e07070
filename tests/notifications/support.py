"""Moving pilots and closing rounds as people do, with follow-ups and deliveries run in-process."""

from __future__ import annotations

from django.core import mail

from pilots import lifecycle
from tests.decisions.evidence_support import add_round
from tests.factories import PromptFactory, findings_for


def move(pilot, action: str, *, actor, rationale: str = "", override: bool = False):
    pilot.refresh_from_db()
    return lifecycle.move(
        pilot.pk,
        action,
        actor=actor,
        expected_stage=pilot.stage,
        rationale=rationale,
        override=override,
        conclusion=findings_for(pilot.stage, action),
    )


def open_round(pilot, answers: list[dict], *, invited: list):
    """An open round of `pilot`: a prompt for each invited person, these answers given."""
    round_ = add_round(pilot, answers, closed=False, invited=len(invited))
    for user in invited:
        PromptFactory(round=round_, participant=user)
    return round_


def emails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def recipients() -> list[str]:
    return sorted(address for m in mail.outbox for address in m.to)
