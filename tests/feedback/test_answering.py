"""Answering a round: by token or from the inbox, editing, validation, closed rounds."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.exceptions import PermissionRefused
from feedback import answering, tokens
from feedback.models import Answer, Prompt, Question, Response
from tests.factories import QuestionFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def answers_by_key(response: Response) -> dict[str, object]:
    out: dict[str, object] = {}
    for a in response.answers.select_related("question"):
        out[a.question.key] = (
            a.number if a.number is not None else (a.boolean if a.boolean is not None else a.text)
        )
    return out


def test_a_first_answer_by_token_marks_the_prompt_answered_and_keeps_no_respondent(participant):
    feedback_round = pulse_round()
    prompt, token = prompt_with_token(feedback_round, participant)

    response = answering.submit_response(token=token, answers=GOOD_ANSWERS)

    prompt.refresh_from_db()
    assert prompt.answered is True
    assert response.respondent is None
    assert response.edit_key_hash == tokens.edit_key_hash(token)
    assert response.edit_key_hash != prompt.token_hash
    assert answers_by_key(response) == {
        "minutes_saved": Decimal("30"),
        "quality": Decimal("4"),
        "trust": Decimal("3"),
        "recommend": Decimal("8"),
        "incident": False,
    }


def test_answering_again_with_the_same_token_replaces_the_answers_of_the_one_response(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    first = answering.submit_response(token=token, answers=GOOD_ANSWERS)

    second = answering.submit_response(
        token=token, answers={**GOOD_ANSWERS, "quality": "2", "comment": "Better now"}
    )

    assert second.pk == first.pk
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert answers_by_key(second)["quality"] == Decimal("2")
    assert answers_by_key(second)["comment"] == "Better now"
    assert Answer.objects.filter(response=first).count() == 6


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_page_read_before_another_tab_answered_replaces_that_answer(participant, anonymous):
    """Two tabs of one link: both read the unanswered prompt, one answers, then the other."""
    feedback_round = pulse_round(anonymous=anonymous)
    _prompt, token = prompt_with_token(feedback_round, participant)
    stale = answering.prompt_for_token(token)  # the second tab's page, still unanswered
    first = answering.submit_response(token=token, answers=GOOD_ANSWERS)

    second = answering.submit_response(
        token=token, answers={**GOOD_ANSWERS, "quality": "2"}, prompt=stale
    )

    assert second.pk == first.pk
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert answers_by_key(second)["quality"] == Decimal("2")


def test_a_non_anonymous_response_is_edited_from_the_link_or_the_inbox_alike(participant):
    feedback_round = pulse_round(anonymous=False)
    prompt, token = prompt_with_token(feedback_round, participant)

    by_link = answering.submit_response(token=token, answers=GOOD_ANSWERS)
    by_inbox = answering.submit_response(
        prompt_id=prompt.pk, user=participant, answers={**GOOD_ANSWERS, "trust": "5"}
    )

    assert by_link.pk == by_inbox.pk
    assert by_inbox.respondent == participant
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert answers_by_key(by_inbox)["trust"] == Decimal("5")


def test_an_anonymous_inbox_answer_replaces_the_emailed_link_with_a_new_edit_link(participant):
    feedback_round = pulse_round()
    prompt, emailed = prompt_with_token(feedback_round, participant)

    response = answering.submit_response(
        prompt_id=prompt.pk, user=participant, answers=GOOD_ANSWERS
    )

    new_token = response.edit_token
    assert new_token and new_token != emailed
    prompt.refresh_from_db()
    assert prompt.answered is True
    assert prompt.token_hash == tokens.hash_token(new_token)
    assert response.respondent is None
    assert response.edit_key_hash == tokens.edit_key_hash(new_token)
    with pytest.raises(answering.UnknownLink):
        answering.submit_response(token=emailed, answers=GOOD_ANSWERS)
    edited = answering.submit_response(token=new_token, answers={**GOOD_ANSWERS, "trust": "1"})
    assert edited.pk == response.pk
    assert Response.objects.filter(round=feedback_round).count() == 1


def test_an_anonymous_answer_cannot_be_reopened_from_the_inbox(participant):
    feedback_round = pulse_round()
    prompt, token = prompt_with_token(feedback_round, participant)
    answering.submit_response(token=token, answers=GOOD_ANSWERS)

    with pytest.raises(answering.AlreadyAnswered) as e:
        answering.submit_response(prompt_id=prompt.pk, user=participant, answers=GOOD_ANSWERS)

    assert e.value.code == "already_answered"
    assert Response.objects.filter(round=feedback_round).count() == 1


def test_someone_else_s_prompt_cannot_be_answered_from_the_inbox(participant, outsider):
    feedback_round = pulse_round()
    prompt, _token = prompt_with_token(feedback_round, participant)

    with pytest.raises(PermissionRefused) as e:
        answering.submit_response(prompt_id=prompt.pk, user=outsider, answers=GOOD_ANSWERS)

    assert e.value.code == "not_your_prompt"
    assert not Response.objects.exists()


def test_an_unknown_token_is_refused_as_an_unknown_link():
    with pytest.raises(answering.UnknownLink) as e:
        answering.prompt_for_token("not-a-token")
    assert e.value.code == "unknown_link"


@pytest.mark.parametrize(
    ("stage", "code"), [("paused", "pilot_paused"), ("stopped", "pilot_stopped")]
)
def test_a_paused_or_stopped_pilot_refuses_answers(participant, stage, code):
    feedback_round = pulse_round(stage=stage)
    prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnsweringClosed) as e:
        answering.submit_response(token=token, answers=GOOD_ANSWERS)

    assert e.value.code == code
    prompt.refresh_from_db()
    assert prompt.answered is False
    assert not Response.objects.exists()


def test_a_closed_round_refuses_answers(participant):
    feedback_round = pulse_round()
    feedback_round.status = "closed"
    feedback_round.closed_at = timezone.now()
    feedback_round.save()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnsweringClosed) as e:
        answering.submit_response(token=token, answers=GOOD_ANSWERS)

    assert e.value.code == "round_closed"


def test_a_round_past_its_window_refuses_answers_before_the_close_task_ran(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    answering.submit_response(token=token, answers=GOOD_ANSWERS)

    with (
        time_machine.travel(feedback_round.closes_at + datetime.timedelta(seconds=1)),
        pytest.raises(answering.AnsweringClosed) as e,
    ):
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, "quality": "1"})

    assert e.value.code == "round_closed"
    assert answers_by_key(Response.objects.get())["quality"] == Decimal("4")


def error_fields(exc: answering.AnswersInvalid) -> dict[str, str]:
    return {e.field: e.code for e in exc.errors}


def test_missing_required_answers_are_refused_naming_each_field(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={"quality": "3", "comment": ""})

    assert error_fields(e.value) == {
        "minutes_saved": "required",
        "trust": "required",
        "recommend": "required",
        "incident": "required",
    }
    assert not Response.objects.exists()
    assert Prompt.objects.get().answered is False


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("minutes_saved", "2401", "out_of_range"),
        ("minutes_saved", "-1", "out_of_range"),
        ("minutes_saved", "lots", "not_a_number"),
        ("minutes_saved", "1.234", "too_precise"),
        ("quality", "6", "out_of_range"),
        ("quality", "0", "out_of_range"),
        ("quality", "3.5", "not_whole"),
        ("recommend", "11", "out_of_range"),
        ("incident", "maybe", "invalid_choice"),
    ],
)
def test_answers_out_of_range_or_of_the_wrong_kind_are_refused(participant, key, value, code):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, key: value})

    assert error_fields(e.value) == {key: code}


def test_the_bounds_of_each_range_are_accepted(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    response = answering.submit_response(
        token=token,
        answers={**GOOD_ANSWERS, "minutes_saved": "2400", "quality": "1", "recommend": "0"},
    )

    assert answers_by_key(response)["minutes_saved"] == Decimal("2400")
    assert answers_by_key(response)["recommend"] == Decimal("0")


def test_an_incident_kind_must_be_one_of_the_options(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(
            token=token,
            answers={
                **GOOD_ANSWERS,
                "incident": "yes",
                "incident_kind": "leak",
                "incident_description": "x",
            },
        )

    assert error_fields(e.value) == {"incident_kind": "invalid_choice"}


def test_a_required_conditional_question_is_required_only_when_shown(participant):
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    QuestionFactory(
        questionnaire=None,
        pilot=pilot,
        key="used_it",
        kind=Question.Kind.YES_NO,
        min_value=None,
        max_value=None,
        position=1,
    )
    QuestionFactory(
        questionnaire=None,
        pilot=pilot,
        key="how_often",
        kind=Question.Kind.CHOICE,
        min_value=None,
        max_value=None,
        position=2,
        shown_if_key="used_it",
        shown_if_value="yes",
        choices=[["daily", "Daily"], ["weekly", "Weekly"]],
    )
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, "used_it": "yes"})
    assert error_fields(e.value) == {"how_often": "required"}

    response = answering.submit_response(token=token, answers={**GOOD_ANSWERS, "used_it": "no"})
    assert answers_by_key(response)["used_it"] is False
    assert "how_often" not in answers_by_key(response)


def test_answers_to_questions_not_asked_are_dropped(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    response = answering.submit_response(
        token=token,
        answers={
            **GOOD_ANSWERS,
            "incident": "no",
            "incident_kind": "other",
            "incident_description": "nothing",
        },
    )

    assert "incident_kind" not in answers_by_key(response)
    assert "incident_description" not in answers_by_key(response)


def test_an_answer_to_an_unknown_question_is_refused(participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers={**GOOD_ANSWERS, "salary": "1"})

    assert error_fields(e.value) == {"salary": "unknown_question"}


def test_a_confidential_data_exposure_writes_its_follow_up_with_the_answer(
    participant, spine_messages, django_capture_on_commit_callbacks
):
    """The breach follows the commit even if the broker loses the message: the work is a row."""
    from core.models import FollowUp

    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answering.submit_response(
            token=token,
            answers={
                **GOOD_ANSWERS,
                "incident": "yes",
                "incident_kind": "confidential_data_exposed",
                "incident_description": "Pasted a customer file",
            },
        )
        assert spine_messages == []  # nothing is published before the commit
    [work] = FollowUp.objects.all()
    assert (work.kind, work.payload, work.status) == (
        "exposure_reported",
        {"round_id": feedback_round.pk},
        "pending",
    )
    for callback in callbacks:
        callback()
    assert spine_messages == [("followup", work.pk)]


def test_other_incidents_ask_for_no_follow_up(participant, django_capture_on_commit_callbacks):
    from core.models import FollowUp

    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with django_capture_on_commit_callbacks(execute=True):
        answering.submit_response(
            token=token,
            answers={
                **GOOD_ANSWERS,
                "incident": "yes",
                "incident_kind": "wrong_output_acted_on",
                "incident_description": "Sent a wrong refund",
            },
        )

    assert not FollowUp.objects.exists()


def test_the_round_asks_the_questionnaire_then_the_pilot_s_own_questions():
    feedback_round = pulse_round()
    extra = QuestionFactory(
        questionnaire=None,
        pilot=feedback_round.pilot,
        key="tickets",
        kind=Question.Kind.NUMBER,
        min_value=0,
        max_value=100,
        position=1,
    )
    QuestionFactory(
        questionnaire=None,
        pilot=pulse_round().pilot,
        key="other_pilot",
        kind=Question.Kind.TEXT,
        min_value=None,
        max_value=None,
    )

    keys = [q.key for q in answering.questions_for_round(feedback_round)]

    assert keys == [
        "minutes_saved",
        "quality",
        "trust",
        "recommend",
        "incident",
        "incident_kind",
        "incident_description",
        "comment",
        extra.key,
    ]


def test_the_pilot_s_own_required_question_must_be_answered(participant):
    feedback_round = pulse_round()
    QuestionFactory(
        questionnaire=None,
        pilot=feedback_round.pilot,
        key="tickets",
        kind=Question.Kind.NUMBER,
        min_value=0,
        max_value=100,
    )
    _prompt, token = prompt_with_token(feedback_round, participant)

    with pytest.raises(answering.AnswersInvalid) as e:
        answering.submit_response(token=token, answers=GOOD_ANSWERS)

    assert error_fields(e.value) == {"tickets": "required"}


def test_the_database_refuses_two_answers_to_one_question_of_a_response(participant):
    from django.db import IntegrityError, transaction

    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    response = answering.submit_response(token=token, answers=GOOD_ANSWERS)
    question = Question.objects.get(questionnaire=feedback_round.questionnaire, key="quality")

    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(response=response, question=question, number=1)


def test_the_database_refuses_two_responses_of_one_named_respondent(participant):
    from django.db import IntegrityError, transaction

    feedback_round = pulse_round(anonymous=False)
    Response.objects.create(round=feedback_round, respondent=participant)

    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(round=feedback_round, respondent=participant)


def test_a_token_opens_only_its_own_prompt():
    feedback_round = pulse_round()
    prompt_a, token_a = prompt_with_token(feedback_round, UserFactory())
    prompt_b, token_b = prompt_with_token(feedback_round, UserFactory())

    assert answering.prompt_for_token(token_a).pk == prompt_a.pk
    assert answering.prompt_for_token(token_b).pk == prompt_b.pk
