"""A question's step: declared, enforced on answers, stored with results, used by intervals."""

from __future__ import annotations

import importlib
import math
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.urls import reverse
from scipy import stats as sp

from core.exceptions import ValidationFailed
from feedback import answering, pilot_questions
from feedback.models import Answer, Question, Response
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    FeedbackRoundFactory,
    PilotFactory,
    QuestionFactory,
    QuestionnaireFactory,
    pulse_questionnaire,
)
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round
from tests.stats_reference import count_score_bounds, t_bounds

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("feedback.migrations.0008_question_steps_of_existing_questions")


def rate_question(pilot, lead, **kwargs) -> Question:
    spec = {
        "key": "error_rate",
        "text": "Share of outputs you had to fix?",
        "kind": "number",
        "min_value": Decimal("0"),
        "max_value": Decimal("1"),
        "step": Decimal("0.01"),
        **kwargs,
    }
    return pilot_questions.add_question(pilot.pk, user=lead, **spec)


# --- The database -------------------------------------------------------------------------


def test_the_database_refuses_a_step_that_is_not_positive():
    with (
        pytest.raises(IntegrityError, match="feedback_question_step_positive"),
        transaction.atomic(),
    ):
        QuestionFactory(kind="number", min_value=0, max_value=10, step=Decimal("0"))


def test_the_database_refuses_a_scale_that_does_not_go_in_whole_points():
    with (
        pytest.raises(IntegrityError, match="feedback_question_scale_step_one"),
        transaction.atomic(),
    ):
        QuestionFactory(kind="scale", step=Decimal("0.5"))


def test_the_default_questionnaire_asks_whole_minutes_and_whole_scale_points():
    questions = {q.key: q for q in pulse_questionnaire().questions.all()}
    assert questions["minutes_saved"].step == 1
    assert {questions[k].step for k in ("quality", "trust", "recommend")} == {1}


def test_the_migration_gives_existing_number_questions_the_step_they_were_answered_on():
    pulse = pulse_questionnaire()
    pulse.slug = MIGRATION.PULSE
    pulse.save()
    pilot = PilotFactory(stage="pilot")
    feedback_round = FeedbackRoundFactory(pilot=pilot, questionnaire=pulse)
    whole = QuestionFactory(
        questionnaire=None, pilot=pilot, key="tickets", kind="number", min_value=0, max_value=99
    )
    fractional = QuestionFactory(
        questionnaire=None, pilot=pilot, key="hours", kind="number", min_value=0, max_value=40
    )
    QuestionFactory(
        questionnaire=None, pilot=pilot, key="rate", kind="number", min_value=0, max_value=0.5
    )
    QuestionFactory(
        questionnaire=None, pilot=pilot, key="new", kind="number", min_value=0, max_value=9
    )
    response = Response.objects.create(round=feedback_round)
    Answer.objects.create(response=response, question=whole, number=Decimal("12"))
    Answer.objects.create(response=response, question=fractional, number=Decimal("2.5"))
    Question.objects.filter(kind="number").update(step=Decimal("7"))  # as if none were set

    MIGRATION.set_steps(apps, None)

    steps = dict(Question.objects.values_list("key", "step"))
    assert steps["minutes_saved"] == 1  # the default questionnaire: whole minutes
    assert steps["tickets"] == 1  # whole bounds, whole answers: a count
    assert steps["hours"] == Decimal("0.01")  # 2.5 was accepted: it must stay acceptable
    assert steps["rate"] == Decimal("0.01")
    assert steps["new"] == 1
    assert steps["quality"] == 1


# --- Answers follow the step ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("0.07", True), ("0,13", True), ("0", True), ("1", True), ("0.075", False)],
)
def test_an_error_rate_is_answered_to_the_hundredth(participant, lead, team, value, accepted):
    feedback_round = pulse_round(team=team, lead=lead)
    rate_question(feedback_round.pilot, lead)
    _prompt, token = prompt_with_token(feedback_round, participant)

    if accepted:
        response = answering.submit_response(
            token=token, answers={**GOOD_ANSWERS, "error_rate": value}
        )
        stored = response.answers.get(question__key="error_rate").number
        assert stored == Decimal(value.replace(",", "."))
    else:
        with pytest.raises(answering.AnswersInvalid):
            answering.submit_response(token=token, answers={**GOOD_ANSWERS, "error_rate": value})


def test_an_answer_off_the_step_is_refused_naming_the_field_and_the_nearest_answers(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, "minutes_saved": "12.5"})

    [error] = e.value.errors
    assert (error.field, error.code) == ("minutes_saved", "off_step")
    assert "12" in error.message and "13" in error.message


def test_the_step_counts_from_the_question_s_minimum(participant, lead, team):
    feedback_round = pulse_round(team=team, lead=lead)
    pilot_questions.add_question(
        feedback_round.pilot.pk,
        user=lead,
        key="hours",
        text="Hours spent reviewing?",
        kind="number",
        min_value=Decimal("0.25"),
        max_value=Decimal("8"),
        step=Decimal("0.5"),
    )
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, "hours": "1"})
    [error] = e.value.errors
    assert (error.field, error.code) == ("hours", "off_step")
    assert "0.75" in error.message and "1.25" in error.message
    response = answering.submit_response(token=token, answers={**GOOD_ANSWERS, "hours": "1.25"})
    assert response.answers.get(question__key="hours").number == Decimal("1.25")


def test_the_answer_form_offers_the_question_s_step_to_the_browser(client, participant, lead):
    feedback_round = pulse_round(lead=lead)
    rate_question(feedback_round.pilot, lead)
    _prompt, token = prompt_with_token(feedback_round, participant)

    page = client.get(reverse("feedback_answer", args=[token])).content.decode()

    assert 'name="error_rate"' in page
    assert 'step="0.01"' in page
    assert 'name="minutes_saved"' in page and 'step="1"' in page


# --- A lead declares the step -----------------------------------------------------------------


def test_a_lead_declares_the_step_of_their_number_question(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    question = rate_question(pilot, lead)
    assert question.step == Decimal("0.01")
    tickets = rate_question(pilot, lead, key="tickets", max_value=Decimal("50"), step=None)
    assert tickets.step == 1


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"step": Decimal("0")}, "invalid_step"),
        ({"step": Decimal("-1")}, "invalid_step"),
        ({"step": Decimal("0.005")}, "invalid_step"),
        ({"step": Decimal("2")}, "invalid_step"),  # wider than the range 0–1
        ({"kind": "scale", "min_value": 1, "max_value": 5, "step": Decimal("2")}, "invalid_step"),
    ],
)
def test_a_step_that_cannot_work_is_refused_naming_the_field(lead, team, spec, code):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    with pytest.raises(ValidationFailed) as e:
        rate_question(pilot, lead, **spec)

    assert (e.value.code, e.value.field) == (code, "step")
    assert not Question.objects.filter(pilot=pilot).exists()


def test_the_questions_page_offers_and_takes_the_step(client, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(lead)
    url = reverse("feedback_pilot_questions", args=[pilot.pk])
    assert 'name="step"' in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "text": "Share of outputs you had to fix?",
            "key": "error_rate",
            "kind": "number",
            "min_value": "0",
            "max_value": "1",
            "step": "0.01",
        },
    )

    assert response.status_code == 302
    assert Question.objects.get(pilot=pilot).step == Decimal("0.01")
    refused = client.post(
        url,
        {"text": "Tickets?", "key": "tickets", "kind": "number", "min_value": "0",
         "max_value": "5", "step": "9"},
    )  # fmt: skip
    assert refused.status_code == 200
    assert 'id="step-errors"' in refused.content.decode()


def test_the_questionnaire_admin_shows_each_question_s_step(client, ops):
    questionnaire = QuestionnaireFactory()
    QuestionFactory(questionnaire=questionnaire, kind="number", min_value=0, max_value=1)
    client.force_login(ops)

    page = client.get(reverse("admin:feedback_questionnaire_change", args=[questionnaire.pk]))

    assert 'name="questions-0-step"' in page.content.decode()


def test_the_questionnaire_admin_refuses_a_scale_off_whole_points_with_the_reason(client, ops):
    from tests.feedback.test_questionnaires import inline_post_data

    questionnaire = QuestionnaireFactory()
    question = QuestionFactory(questionnaire=questionnaire, kind="scale")
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[questionnaire.pk])

    response = client.post(url, inline_post_data(questionnaire, **{"questions-0-step": "0.5"}))

    assert response.status_code == 200
    assert "A scale goes in steps of 1." in response.content.decode()
    question.refresh_from_db()
    assert question.step == 1


# --- Results keep the step; intervals follow it ---------------------------------------------


def test_a_round_stores_each_question_s_step_and_draws_its_interval_on_it(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    rate_question(pilot, lead)
    rates = [0.05, 0.09, 0.11, 0.08, 0.13, 0.1, 0.07, 0.12, 0.1, 0.06]
    feedback_round = add_round(pilot, scores("error_rate", rates))

    entry = next(q for q in feedback_round.results["questions"] if q["key"] == "error_rate")

    assert entry["step"] == 0.01
    low, high = t_bounds(rates)  # sd 0.026, far above 0.01/√12: the plain t interval
    assert entry["ci"] == [pytest.approx(low), pytest.approx(high)]
    assert high - low < 0.05  # with a whole unit's floor it was 0.41 wide


def test_identical_fine_answers_get_the_floor_of_their_own_step(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    rate_question(pilot, lead)
    feedback_round = add_round(pilot, scores("error_rate", [0.1] * 6))

    entry = next(q for q in feedback_round.results["questions"] if q["key"] == "error_rate")

    half = sp.t.ppf(0.975, 5) * 0.01 / math.sqrt(12) / math.sqrt(6)
    assert entry["ci"] == [pytest.approx(0.1 - half), pytest.approx(0.1 + half)]


def test_a_count_s_interval_is_the_count_interval_and_never_negative(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="incidents",
        text="How many incidents this week?",
        kind="number",
        min_value=Decimal("0"),
        max_value=Decimal("50"),
    )
    answers = [0] * 9 + [1]
    feedback_round = add_round(pilot, scores("incidents", answers))

    entry = next(q for q in feedback_round.results["questions"] if q["key"] == "incidents")

    assert (entry["step"], entry["min_value"]) == (1.0, 0.0)
    assert entry["ci"] == [0.0, pytest.approx(count_score_bounds(answers)[1])]
