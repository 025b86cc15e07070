"""The close reads its figures in a fixed number of queries and rewrites rows without loss."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback import answering, scheduling
from feedback import results as round_results
from feedback.models import Answer, FeedbackRound, Prompt, Response
from tests.factories import UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def _round(invited: int, answering_count: int) -> FeedbackRound:
    feedback_round = pulse_round()
    for i in range(invited):
        _prompt, token = prompt_with_token(feedback_round, UserFactory())
        if i < answering_count:
            answering.submit_response(
                token=token, answers={**GOOD_ANSWERS, "quality": str(1 + i % 5)}
            )
    return feedback_round


def _rows(feedback_round: FeedbackRound) -> tuple[list, list, list]:
    prompts = sorted(
        Prompt.objects.filter(round=feedback_round).values_list(
            "pk", "participant_id", "token_hash", "answered"
        )
    )
    responses = sorted(
        Response.objects.filter(round=feedback_round).values_list("pk", "respondent_id")
    )
    answers = sorted(
        Answer.objects.filter(response__round=feedback_round).values_list(
            "pk", "response_id", "question_id", "number", "boolean", "text"
        ),
        key=str,
    )
    return prompts, responses, answers


def test_the_figures_are_read_in_the_same_queries_whatever_the_round_size(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    small, large = _round(4, 3), _round(14, 11)
    counted = []
    for feedback_round in (small, large):
        with CaptureQueriesContext(connection) as captured:
            invited, responses, results = round_results.round_figures(feedback_round)
        counted.append(len(captured))
        # The same figures as counting the rows and computing the results from the answers.
        assert invited == Prompt.objects.filter(round=feedback_round).count()
        assert responses == Response.objects.filter(round=feedback_round).count()
        assert results == round_results.compute_results(feedback_round)
    # Both counts in one statement, the questions, one scan of the answers.
    assert counted == [3, 3]
    assert (small.invited_count, large.invited_count) == (4, 14)


def test_the_close_stores_the_counts_of_the_round_s_rows(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = _round(9, 5)
    closed = scheduling.close_round(feedback_round.pk)
    closed.refresh_from_db()
    assert (closed.invited_count, closed.response_count) == (9, 5)
    assert closed.results["invited"] == 9 and closed.results["responses"] == 5
    quality = next(q for q in closed.results["questions"] if q["key"] == "quality")
    assert quality["n"] == 5 and quality["mean"] == pytest.approx(3.0)


@pytest.mark.parametrize("anonymous", [True, False])
def test_the_close_rewrites_every_row_unchanged_but_the_edit_keys(anonymous, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = pulse_round(anonymous=anonymous)
    for i in range(6):
        _prompt, token = prompt_with_token(feedback_round, UserFactory())
        if i < 4:
            answering.submit_response(token=token, answers=GOOD_ANSWERS)
    keyed = Response.objects.filter(round=feedback_round, edit_key_hash__isnull=False)
    had_keys = keyed.count()
    before = _rows(feedback_round)

    scheduling.close_round(feedback_round.pk)

    assert _rows(feedback_round) == before
    assert len(before[2]) >= 4 * 5
    # Anonymous answers were editable by key until the close; the keys go with it.
    assert had_keys == (4 if anonymous else 0)
    assert keyed.count() == 0


def test_closing_twice_closes_once_and_changes_no_row(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = _round(5, 4)
    first = scheduling.close_round(feedback_round.pk)
    after_first = _rows(feedback_round)
    stored = FeedbackRound.objects.get(pk=feedback_round.pk).results

    assert first is not None
    assert scheduling.close_round(feedback_round.pk) is None
    assert _rows(feedback_round) == after_first
    assert FeedbackRound.objects.get(pk=feedback_round.pk).results == stored
