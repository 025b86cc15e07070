"""A lead's own questions: who may add them, how many, unique keys, frozen once answered."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.exceptions import PermissionRefused, ValidationFailed
from feedback import answering, pilot_questions
from feedback.models import Question
from pilots import measures
from tests.factories import (
    MetricGuardrailFactory,
    PilotFactory,
    SuccessMetricFactory,
    UserFactory,
)
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def add(pilot, user, key="tickets", **kwargs):
    spec = {
        "text": "How many tickets did you close?",
        "kind": "number",
        "min_value": Decimal("0"),
        "max_value": Decimal("200"),
        **kwargs,
    }
    return pilot_questions.add_question(pilot.pk, user=user, key=key, **spec)


def test_the_pilot_s_lead_adds_a_question_asked_in_its_rounds(lead, team):
    feedback_round = pulse_round(team=team, lead=lead)

    question = add(feedback_round.pilot, lead)

    assert question.pilot == feedback_round.pilot
    assert answering.questions_for_round(feedback_round)[-1] == question


def test_a_lead_of_the_pilot_s_team_may_add_questions(lead, team):
    pilot = PilotFactory(team=team, lead=UserFactory(), stage="pilot")

    assert add(pilot, lead).pk


def test_a_participant_or_an_outsider_may_not_add_questions(participant, outsider, team, lead):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    for user in (participant, outsider):
        with pytest.raises(PermissionRefused):
            add(pilot, user)
    assert not Question.objects.filter(pilot=pilot).exists()


def test_a_pilot_has_at_most_five_questions_of_its_own(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    for n in range(5):
        add(pilot, lead, key=f"extra_{n}")

    with pytest.raises(ValidationFailed) as e:
        add(pilot, lead, key="extra_5")

    assert (e.value.code, e.value.field) == ("too_many_questions", "key")
    assert Question.objects.filter(pilot=pilot).count() == 5


def test_a_key_is_unique_among_the_pilot_s_and_the_questionnaire_s_questions(lead, team):
    feedback_round = pulse_round(team=team, lead=lead)
    add(feedback_round.pilot, lead, key="tickets")

    for key in ("tickets", "quality"):
        with pytest.raises(ValidationFailed) as e:
            add(feedback_round.pilot, lead, key=key)
        assert (e.value.code, e.value.field) == ("duplicate_key", "key")


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        ({"key": "Bad Key"}, "invalid_key", "key"),
        ({"text": " "}, "required", "text"),
        (
            {"kind": "scale", "min_value": Decimal("1"), "max_value": Decimal("1")},
            "range_out_of_order",
            "max_value",
        ),
        (
            {"kind": "scale", "min_value": Decimal("0"), "max_value": Decimal("20")},
            "scale_too_wide",
            "max_value",
        ),
        ({"kind": "number", "min_value": None}, "required", "min_value"),
        ({"kind": "choice", "choices": [["a", "A"]]}, "too_few_choices", "choices"),
        ({"kind": "choice", "choices": [["a", "A"], ["a", "B"]]}, "duplicate_choice", "choices"),
    ],
)
def test_an_incomplete_question_is_refused_naming_the_field(lead, team, spec, code, field):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    with pytest.raises(ValidationFailed) as e:
        add(pilot, lead, **spec)

    assert (e.value.code, e.value.field) == (code, field)


def test_an_unanswered_question_can_be_removed(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    question = add(pilot, lead)

    pilot_questions.remove_question(question.pk, user=lead)

    assert not Question.objects.filter(pk=question.pk).exists()


def test_an_answered_question_is_frozen(lead, team, participant):
    feedback_round = pulse_round(team=team, lead=lead)
    question = add(feedback_round.pilot, lead)
    _prompt, token = prompt_with_token(feedback_round, participant)
    answering.submit_response(token=token, answers={**GOOD_ANSWERS, "tickets": "12"})

    with pytest.raises(ValidationFailed) as e:
        pilot_questions.remove_question(question.pk, user=lead)

    assert e.value.code == "question_frozen"
    assert "frozen" in e.value.message
    assert Question.objects.filter(pk=question.pk).exists()


def test_the_questions_page_adds_a_question(client, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(lead)
    url = reverse("feedback_pilot_questions", args=[pilot.pk])

    response = client.post(
        url,
        {
            "text": "Which channel?",
            "key": "channel",
            "kind": "choice",
            "choices": "mail|E-mail\nchat|Chat",
        },
    )

    assert response.status_code == 302
    question = Question.objects.get(pilot=pilot)
    assert question.choices == [["mail", "E-mail"], ["chat", "Chat"]]
    assert "Which channel?" in client.get(url).content.decode()


def test_the_questions_page_shows_a_refusal_next_to_the_field(client, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(lead)

    response = client.post(
        reverse("feedback_pilot_questions", args=[pilot.pk]),
        {"text": "Quality?", "key": "quality", "kind": "text"},
    )

    assert response.status_code == 200
    assert 'id="key-errors"' in response.content.decode()
    assert "already used" in response.content.decode()


def test_the_questions_page_is_refused_to_a_participant(client, participant, team, lead):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(participant)

    response = client.get(reverse("feedback_pilot_questions", args=[pilot.pk]))

    assert response.status_code == 403


def test_the_questions_page_says_a_frozen_question_cannot_be_removed(
    client, lead, team, participant
):
    feedback_round = pulse_round(team=team, lead=lead)
    question = add(feedback_round.pilot, lead)
    _prompt, token = prompt_with_token(feedback_round, participant)
    answering.submit_response(token=token, answers={**GOOD_ANSWERS, "tickets": "3"})
    client.force_login(lead)
    url = reverse("feedback_pilot_questions", args=[feedback_round.pilot.pk])

    assert "Frozen (has answers)" in client.get(url).content.decode()
    response = client.post(
        reverse("feedback_pilot_question_remove", args=[question.pk]), follow=True
    )

    assert "frozen" in response.content.decode()
    assert Question.objects.filter(pk=question.pk).exists()


def test_a_question_a_metric_or_an_enabled_guardrail_measures_cannot_be_removed(lead, team, ops):
    pilot = PilotFactory(team=team, lead=lead, title="Tickets", stage="pilot")
    question = add(pilot, lead)
    metric = SuccessMetricFactory(pilot=pilot, name="Closed tickets", question_key="tickets")
    guardrail = MetricGuardrailFactory(pilot=pilot, description="Backlog", question_key="tickets")

    with pytest.raises(ValidationFailed) as e:
        pilot_questions.remove_question(question.pk, user=lead)
    assert (e.value.code, e.value.field) == ("question_in_use", "question")
    assert "the success metric “Closed tickets” of “Tickets”" in e.value.message
    assert "the guardrail “Backlog” of “Tickets”" in e.value.message

    metric.delete()
    with pytest.raises(ValidationFailed) as e:
        pilot_questions.remove_question(question.pk, user=lead)
    assert "Closed tickets" not in e.value.message
    assert Question.objects.filter(pk=question.pk).exists()

    measures.disable_guardrail(guardrail.pk, actor=ops, reason="Tickets are counted elsewhere.")
    pilot_questions.remove_question(question.pk, user=lead)
    assert not Question.objects.filter(pk=question.pk).exists()


def test_the_questions_page_says_why_a_measured_question_stays(client, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    question = add(pilot, lead)
    SuccessMetricFactory(pilot=pilot, name="Closed tickets", question_key="tickets")
    client.force_login(lead)

    response = client.post(
        reverse("feedback_pilot_question_remove", args=[question.pk]), follow=True
    )

    assert "the success metric “Closed tickets”" in response.content.decode()
    assert Question.objects.filter(pk=question.pk).exists()
