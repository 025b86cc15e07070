"""Demo feedback: closed rounds with responses, one open round, idempotent."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from feedback.demo import seed_feedback
from feedback.models import Answer, FeedbackRound, Prompt, Response
from feedback.tokens import hash_token
from pilots.models import ACTIVE_STAGES, Pilot
from tests.factories import pulse_questionnaire

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, capsys):
    """Run the whole seed_demo command (pilots through the lifecycle, then the feedback)."""
    settings.DEMO_MODE = True
    pulse_questionnaire()
    call_command("seed_demo")
    return capsys.readouterr().out


def test_every_active_pilot_gets_closed_rounds_with_responses_and_one_open_round(demo):
    active = list(Pilot.objects.filter(stage__in=ACTIVE_STAGES))
    assert {p.stage for p in active} == set(ACTIVE_STAGES)
    for pilot in active:
        closed = list(pilot.rounds.closed())
        assert len(closed) == 4
        for round_ in closed:
            assert round_.response_count == round_.responses.count() >= 5
            assert round_.invited_count == round_.prompts.count()
            assert round_.prompts.filter(answered=True).count() == round_.response_count
            assert round_.results
        assert pilot.rounds.open().count() == 1
    assert not FeedbackRound.objects.exclude(pilot__in=active).exists()


def test_anonymous_demo_responses_carry_no_respondent_or_edit_key(demo):
    anonymous = Response.objects.filter(round__pilot__anonymous_feedback=True)
    assert anonymous.exists()
    assert not anonymous.filter(respondent__isnull=False).exists()
    assert not anonymous.filter(edit_key_hash__isnull=False).exists()
    assert Answer.objects.filter(question__key="trust").exists()


def test_the_participant_has_an_unanswered_prompt_whose_printed_link_works(demo):
    [token] = re.findall(r"/feedback/answer/([A-Za-z0-9_\-]+)/", demo)
    prompt = Prompt.objects.get(token_hash=hash_token(token))
    assert prompt.participant.username == "participant"
    assert prompt.round.status == "open"
    assert prompt.answered is False


def test_seeding_twice_adds_nothing(demo, capsys):
    counts = (FeedbackRound.objects.count(), Prompt.objects.count(), Response.objects.count())
    seed_feedback()
    assert (
        FeedbackRound.objects.count(),
        Prompt.objects.count(),
        Response.objects.count(),
    ) == counts
    assert "feedback/answer" not in capsys.readouterr().out
