"""A round closes whatever the number of answers per question, on SQLite as on PostgreSQL.

SQLite's sample standard deviation of one value raised OperationalError in close_round: a
round with one response, or a conditional question answered once in a large round, stayed open
for ever and its guardrails were never evaluated. These run on both CI legs.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from feedback import answering, scheduling
from feedback.models import FeedbackRound
from pilots.models import GuardrailBreach
from tests.factories import GuardrailFactory, QuestionFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def _answer_round(feedback_round: FeedbackRound, answers: list[dict]) -> None:
    for given in answers:
        _prompt, token = prompt_with_token(feedback_round, UserFactory())
        answering.submit_response(token=token, answers=given)


@pytest.mark.parametrize("responses", [0, 1, 2, 7])
def test_a_round_closes_with_any_number_of_responses(responses, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = pulse_round()
    quality = [1 + i % 5 for i in range(responses)]
    _answer_round(feedback_round, [{**GOOD_ANSWERS, "quality": str(q)} for q in quality])

    closed = scheduling.close_round(feedback_round.pk)

    assert closed is not None, connection.vendor
    closed.refresh_from_db()
    assert closed.status == FeedbackRound.Status.CLOSED
    assert closed.response_count == responses
    entries = [q for q in closed.results["questions"] if q["key"] == "quality"]
    if responses < 3:
        assert entries == []  # below the threshold: only the round's counts are stored
    else:
        [entry] = entries
        assert entry["n"] == responses
        assert entry["mean"] == pytest.approx(np.mean(quality))
        assert entry["sd"] == pytest.approx(np.std(quality, ddof=1))


def test_an_optional_number_question_answered_once_in_a_large_round_does_not_stop_the_close(
    settings,
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = pulse_round()
    QuestionFactory(
        questionnaire=None,
        pilot=feedback_round.pilot,
        key="errors_fixed",
        kind="number",
        min_value=0,
        max_value=100,
        required=False,
    )
    answers = [dict(GOOD_ANSWERS) for _ in range(6)]
    answers[0]["errors_fixed"] = "4"  # one answer to the optional question
    answers[1].update(incident="yes", incident_kind="other")  # and one incident kind
    _answer_round(feedback_round, answers)

    closed = scheduling.close_round(feedback_round.pk)

    assert closed is not None
    by_key = {q["key"]: q for q in closed.results["questions"]}
    assert by_key["errors_fixed"]["shown"] is False
    assert by_key["incident_kind"]["shown"] is False
    assert by_key["quality"]["shown"] is True


def test_a_one_response_round_closes_and_its_guardrails_are_evaluated(settings):
    """The guardrail acts on raw answers even below the threshold (safety first)."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    guardrail = GuardrailFactory(
        pilot=feedback_round.pilot,
        kind="metric",
        description="Trust stays at 3 or more",
        question_key="trust",
        statistic="mean",
        comparator="ge",
        threshold=3,
    )
    _answer_round(feedback_round, [{**GOOD_ANSWERS, "trust": "1"}])

    assert scheduling.close_round(feedback_round.pk) is not None
    from decisions.guardrails import evaluate_round

    evaluate_round(feedback_round.pk)
    # One answer: the breach is recorded (and acted on) without naming its guardrail.
    [breach] = GuardrailBreach.objects.filter(round=feedback_round)
    assert breach.is_withheld and guardrail.action == "flag"
