"""A round keeps the anonymity its pilot had when it opened; a pilot with rounds keeps its own."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback import answering, scheduling
from feedback.models import FeedbackRound, Response
from pilots.models import Pilot
from pilots.registry import validate_anonymity_change
from tests.factories import (
    FeedbackRoundFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime.datetime(2026, 11, 30, 9, 30, tzinfo=datetime.UTC)


@contextmanager
def refused(rule: str) -> Iterator[None]:
    """Expect the database to refuse the write, naming the rule."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        yield
    assert rule in str(info.value)


def running_pilot(*, anonymous: bool) -> Pilot:
    pilot = PilotFactory(
        stage="pilot",
        team=TeamFactory(timezone="Europe/Paris"),
        cadence="weekly",
        cadence_weekday=0,
        anonymous_feedback=anonymous,
    )
    ParticipationFactory(pilot=pilot)
    return pilot


def round_of(pilot: Pilot, *, anonymous: bool) -> FeedbackRound:
    return FeedbackRoundFactory(
        pilot=pilot, questionnaire=pulse_questionnaire(), invited_count=5, anonymous=anonymous
    )


# ---------------------------------------------------------------------------------------------
# Opening copies the pilot's setting


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_round_opens_with_its_pilots_anonymity(anonymous):
    pulse_questionnaire()
    pilot = running_pilot(anonymous=anonymous)
    [round_id] = scheduling.open_due_rounds(now=MONDAY_MORNING)
    assert FeedbackRound.objects.get(pk=round_id).anonymous is anonymous
    assert FeedbackRound.objects.get(pk=round_id).pilot_id == pilot.pk


# ---------------------------------------------------------------------------------------------
# Answering follows the round, not the pilot


def test_an_anonymous_round_stores_no_respondent_even_if_its_pilot_says_named():
    # Possible only for rounds opened before the pilot was locked (e.g. older data).
    feedback_round = round_of(PilotFactory(stage="pilot", anonymous_feedback=False), anonymous=True)
    _prompt, token = prompt_with_token(feedback_round, UserFactory())
    response = answering.submit_response(token=token, answers=GOOD_ANSWERS)
    response.refresh_from_db()
    assert response.respondent_id is None
    assert response.edit_key_hash


def test_a_named_round_stores_its_respondent_even_if_its_pilot_says_anonymous():
    user = UserFactory()
    feedback_round = round_of(PilotFactory(stage="pilot", anonymous_feedback=True), anonymous=False)
    _prompt, token = prompt_with_token(feedback_round, user)
    response = answering.submit_response(token=token, answers=GOOD_ANSWERS)
    response.refresh_from_db()
    assert response.respondent_id == user.pk
    assert response.edit_key_hash is None


def test_an_inbox_answer_to_an_anonymous_round_gets_a_fresh_edit_link():
    user = UserFactory()
    feedback_round = round_of(PilotFactory(stage="pilot", anonymous_feedback=False), anonymous=True)
    prompt, _token = prompt_with_token(feedback_round, user)
    response = answering.submit_response(prompt_id=prompt.pk, user=user, answers=GOOD_ANSWERS)
    assert response.edit_token
    assert Response.objects.get(pk=response.pk).respondent_id is None


# ---------------------------------------------------------------------------------------------
# A pilot with rounds keeps its setting


@pytest.mark.parametrize("anonymous", [True, False])
def test_changing_anonymity_is_refused_once_the_pilot_has_a_round(anonymous):
    pilot = PilotFactory(stage="pilot", anonymous_feedback=anonymous)
    round_of(pilot, anonymous=anonymous)
    pilot.anonymous_feedback = not anonymous
    with pytest.raises(ValidationError) as info:
        pilot.full_clean()
    assert list(info.value.message_dict) == ["anonymous_feedback"]
    assert "Start a new pilot" in info.value.message_dict["anonymous_feedback"][0]


def test_changing_anonymity_is_allowed_before_any_round():
    pilot = PilotFactory(stage="sandbox", anonymous_feedback=True)
    pilot.anonymous_feedback = False
    validate_anonymity_change(pilot)
    pilot.save()
    assert Pilot.objects.get(pk=pilot.pk).anonymous_feedback is False


def test_saving_a_pilot_with_rounds_without_changing_anonymity_is_allowed():
    pilot = PilotFactory(stage="pilot", anonymous_feedback=True)
    round_of(pilot, anonymous=True)
    pilot.title = "Renamed"
    validate_anonymity_change(pilot)


def test_an_edit_form_shows_the_refusal_next_to_the_anonymity_field():
    # The admin's and the lead's forms are model forms: Pilot.clean puts the error on the field.
    pilot = PilotFactory(stage="pilot", anonymous_feedback=True)
    round_of(pilot, anonymous=True)
    form_class = forms.modelform_factory(Pilot, fields=["anonymous_feedback"])
    form = form_class(data={}, instance=pilot)  # an unchecked box: False
    assert not form.is_valid()
    assert "anonymous_feedback" in form.errors
    assert "anonymous" in form.errors["anonymous_feedback"][0]
    assert Pilot.objects.get(pk=pilot.pk).anonymous_feedback is True


# ---------------------------------------------------------------------------------------------
# The database refuses


def test_the_database_refuses_a_response_both_named_and_keyed():
    user = UserFactory()
    feedback_round = round_of(
        PilotFactory(stage="pilot", anonymous_feedback=False), anonymous=False
    )
    with refused("feedback_response_named_or_keyed"):
        Response.objects.create(round=feedback_round, respondent=user, edit_key_hash="a" * 64)


def test_the_database_refuses_changing_anonymity_of_a_pilot_with_rounds(postgres):
    pilot = PilotFactory(stage="pilot", anonymous_feedback=True)
    round_of(pilot, anonymous=True)
    with refused("pilots_pilot_anonymity_fixed"):
        Pilot.objects.filter(pk=pilot.pk).update(anonymous_feedback=False)


def test_the_database_lets_a_pilot_without_rounds_change_anonymity(postgres):
    pilot = PilotFactory(stage="sandbox", anonymous_feedback=True)
    assert Pilot.objects.filter(pk=pilot.pk).update(anonymous_feedback=False) == 1


def test_the_database_refuses_changing_a_rounds_anonymity(postgres):
    feedback_round = round_of(PilotFactory(stage="pilot", anonymous_feedback=True), anonymous=True)
    with refused("feedback_feedbackround_anonymity_fixed"):
        FeedbackRound.objects.filter(pk=feedback_round.pk).update(anonymous=False)


def test_the_database_refuses_a_named_response_in_an_anonymous_round(postgres):
    feedback_round = round_of(PilotFactory(stage="pilot", anonymous_feedback=True), anonymous=True)
    with refused("feedback_response_anonymous_unnamed"):
        Response.objects.create(round=feedback_round, respondent=UserFactory())


def test_the_round_admin_shows_whether_each_round_is_anonymous(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    named = round_of(PilotFactory(stage="pilot", anonymous_feedback=False), anonymous=False)
    round_of(PilotFactory(stage="pilot", anonymous_feedback=True), anonymous=True)
    page = client.get("/admin/feedback/feedbackround/?anonymous__exact=0")
    assert page.status_code == 200
    assert [r.pk for r in page.context["cl"].result_list] == [named.pk]
