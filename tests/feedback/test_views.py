"""The answer page (by link), the inbox, the inbox answer page."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import Delivery
from feedback import tokens
from feedback.models import Answer, FeedbackRound, Prompt, Response
from pilots.models import Participation
from tests.factories import ParticipationFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db


def db_state() -> tuple:
    """Everything an answer page could change."""
    return (
        sorted(Prompt.objects.values_list("pk", "token_hash", "answered")),
        sorted(Delivery.objects.values_list("pk", "status", "attempts")),
        sorted(map(str, Response.objects.values_list("pk", "edit_key_hash", "respondent_id"))),
        sorted(
            map(
                str,
                Answer.objects.values_list(
                    "response_id", "question_id", "number", "boolean", "text"
                ),
            )
        ),
        sorted(FeedbackRound.objects.values_list("pk", "status", "response_count")),
    )


def assert_private(response) -> None:
    # Never the path (it holds the token); the origin only, so the page's forms pass CSRF.
    assert response["Referrer-Policy"] == "strict-origin"
    assert "no-store" in response["Cache-Control"]


def test_the_link_shows_the_form_without_a_password(client, participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    response = client.get(reverse("feedback_answer", args=[token]))

    assert response.status_code == 200
    html = response.content.decode()
    assert feedback_round.pilot.title in html
    for key in ("minutes_saved", "quality", "trust", "recommend", "incident", "comment"):
        assert f'name="{key}"' in html
    assert 'type="radio"' in html
    assert_private(response)


def test_a_get_never_changes_anything(client, participant):
    feedback_round = pulse_round()
    prompt, token = prompt_with_token(feedback_round, participant)
    client.post(reverse("feedback_answer", args=[token]), GOOD_ANSWERS)
    before = db_state()

    for url in (
        reverse("feedback_answer", args=[token]),
        reverse("feedback_answer", args=[token]) + "?saved=1",
        reverse("feedback_answer", args=["unknown"]),
    ):
        client.get(url)
    client.force_login(participant)
    client.get(reverse("feedback_inbox"))
    client.get(reverse("feedback_prompt", args=[prompt.pk]))

    assert db_state() == before


def test_an_unknown_link_is_a_404_with_an_explanation(client):
    response = client.get(reverse("feedback_answer", args=["no-such-token"]))

    assert response.status_code == 404
    assert "unknown" in response.content.decode()
    assert_private(response)


def test_a_valid_answer_redirects_to_a_page_saying_until_when_it_can_be_changed(
    client, participant
):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    url = reverse("feedback_answer", args=[token])

    response = client.post(url, GOOD_ANSWERS)

    assert response.status_code == 302
    assert response["Location"] == f"{url}?saved=1"
    page = client.get(response["Location"]).content.decode()
    assert "your answer is saved" in page
    assert "You can change it on this page until" in page
    assert Response.objects.filter(round=feedback_round).count() == 1


def test_an_invalid_answer_shows_each_error_next_to_its_field_and_keeps_what_was_typed(
    client, participant
):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    response = client.post(
        reverse("feedback_answer", args=[token]),
        {**GOOD_ANSWERS, "minutes_saved": "5000", "trust": "", "comment": "keep me"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert re.search(r'id="minutes_saved-errors">\s*<li>Enter a value from 0 to 2400', html)
    assert re.search(r'id="trust-errors">\s*<li>This question needs an answer', html)
    assert 'aria-describedby="minutes_saved-errors"' in html or re.search(
        r'aria-describedby="[^"]*minutes_saved-errors"', html
    )
    assert 'value="5000"' in html
    assert "keep me" in html
    assert re.search(r'value="4"[^>]*checked|checked[^>]*value="4"', html)  # quality kept
    assert not Response.objects.exists()


def test_answering_twice_by_link_edits_and_counts_once(client, participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)
    url = reverse("feedback_answer", args=[token])
    client.post(url, GOOD_ANSWERS)

    page = client.get(url).content.decode()
    assert "sending the form again replaces your answer" in page
    assert 'value="30"' in page  # the saved answer is shown to its holder
    client.post(url, {**GOOD_ANSWERS, "minutes_saved": "45"})

    assert Response.objects.count() == 1
    assert Answer.objects.get(question__key="minutes_saved").number == 45


def test_a_blank_form_shown_from_the_cache_never_carries_someone_else_s_answers_or_errors(
    client, participant
):
    """A first visit's questions come from a per-process cache (AnswerForm.questions_html)."""
    feedback_round = pulse_round()
    _prompt, mine = prompt_with_token(feedback_round, participant)
    _other, theirs = prompt_with_token(feedback_round, UserFactory())
    their_url = reverse("feedback_answer", args=[theirs])
    blank = client.get(their_url).content.decode()  # renders and caches the blank form
    assert " checked" not in blank

    client.post(reverse("feedback_answer", args=[mine]), {**GOOD_ANSWERS, "comment": "mine!"})
    invalid = client.post(their_url, {**GOOD_ANSWERS, "minutes_saved": "5000"}).content.decode()
    assert 'id="minutes_saved-errors"' in invalid
    assert (
        client.get(reverse("feedback_answer", args=[mine])).content.decode().count(" checked") == 4
    )  # my own answers, shown to me

    again = client.get(their_url).content.decode()
    assert "mine!" not in again
    assert " checked" not in again
    assert "minutes_saved-errors" not in again
    assert 'value="5000"' not in again
    french = client.get(their_url, headers={"accept-language": "fr"}).content.decode()
    assert "Combien de minutes" in french
    assert " checked" not in french


@pytest.mark.parametrize(("stage", "text"), [("paused", "is paused"), ("stopped", "is stopped")])
def test_a_link_of_a_paused_or_stopped_pilot_says_so(client, participant, stage, text):
    feedback_round = pulse_round(stage=stage)
    _prompt, token = prompt_with_token(feedback_round, participant)
    url = reverse("feedback_answer", args=[token])

    shown = client.get(url)
    posted = client.post(url, GOOD_ANSWERS)

    for response in (shown, posted):
        assert response.status_code == 200
        assert text in response.content.decode()
        assert 'name="quality"' not in response.content.decode()
    assert not Response.objects.exists()


def test_a_link_says_the_round_is_closed_once_its_window_passed(client, participant):
    feedback_round = pulse_round()
    _prompt, token = prompt_with_token(feedback_round, participant)

    with time_machine.travel(feedback_round.closes_at + datetime.timedelta(minutes=1)):
        response = client.get(reverse("feedback_answer", args=[token]))

    assert response.status_code == 200
    assert "no longer takes answers" in response.content.decode()


def test_the_inbox_lists_open_prompts_and_the_pilots_one_takes_part_in(client, participant):
    open_round = pulse_round()
    ParticipationFactory(pilot=open_round.pilot, user=participant)
    prompt, _token = prompt_with_token(open_round, participant)
    closed_round = pulse_round()
    closed_round.status, closed_round.closed_at = "closed", timezone.now()
    closed_round.save()
    prompt_with_token(closed_round, participant)
    someone_else = pulse_round()
    prompt_with_token(someone_else, UserFactory())
    client.force_login(participant)

    response = client.get(reverse("feedback_inbox"))

    html = response.content.decode()
    assert reverse("feedback_prompt", args=[prompt.pk]) in html
    assert open_round.pilot.title in html
    assert reverse("pilot_detail", args=[open_round.pilot.pk]) in html
    assert closed_round.pilot.title not in html
    assert someone_else.pilot.title not in html
    assert_private(response)


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("feedback_inbox"))

    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("size", [1, 8])
def test_the_inbox_makes_the_same_queries_for_few_or_many_prompts(
    client, participant, django_assert_max_num_queries, size
):
    for _ in range(size):
        feedback_round = pulse_round()
        Participation.objects.create(pilot=feedback_round.pilot, user=participant)
        prompt_with_token(feedback_round, participant)
    client.force_login(participant)

    # Session, user, open prompts with rounds and pilots, participations, absences, pilots led.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("feedback_inbox"))

    assert response.content.decode().count("Answer now") == size


def test_an_anonymous_answer_from_the_inbox_leads_to_a_new_private_link(client, participant):
    feedback_round = pulse_round()
    prompt, emailed = prompt_with_token(feedback_round, participant)
    client.force_login(participant)

    response = client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS)

    assert response.status_code == 302
    prompt.refresh_from_db()
    new_token = response["Location"].split("/answer/")[1].split("/")[0]
    assert tokens.hash_token(new_token) == prompt.token_hash
    page = client.get(response["Location"]).content.decode()
    assert "Keep this page" in page
    assert client.get(reverse("feedback_answer", args=[emailed])).status_code == 404
    reopened = client.get(reverse("feedback_prompt", args=[prompt.pk])).content.decode()
    assert "not linked to your account" in reopened
    assert 'name="quality"' not in reopened


def test_the_browser_that_answered_anonymously_keeps_the_edit_link_in_a_signed_cookie(
    client, participant
):
    feedback_round = pulse_round()
    prompt, _emailed = prompt_with_token(feedback_round, participant)
    client.force_login(participant)

    reply = client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS)

    cookie = reply.cookies["feedback_edit_links"]
    assert cookie["httponly"] and cookie["path"] == "/feedback/"
    assert cookie["samesite"] == "Lax"
    edit_path = reply["Location"].split("?")[0]
    inbox = client.get(reverse("feedback_inbox")).content.decode()
    assert f'href="{edit_path}"' in inbox
    assert "Change my answer" in inbox
    assert reverse("feedback_prompt", args=[prompt.pk]) not in inbox


def test_another_browser_or_another_account_cannot_use_the_kept_edit_link(
    client, participant, outsider
):
    feedback_round = pulse_round()
    prompt, _emailed = prompt_with_token(feedback_round, participant)
    client.force_login(participant)
    reply = client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS)
    stolen = reply.cookies["feedback_edit_links"].value

    elsewhere = Client()
    elsewhere.force_login(participant)
    inbox = elsewhere.get(reverse("feedback_inbox")).content.decode()
    assert "Answered, anonymously. To change it, use the link" in inbox
    assert "/feedback/answer/" not in inbox

    # The cookie is signed for its user: copied into another account's browser it is ignored.
    other_round = pulse_round()
    prompt_with_token(other_round, outsider)
    thief = Client()
    thief.force_login(outsider)
    thief.cookies["feedback_edit_links"] = stolen
    assert "/feedback/answer/" not in thief.get(reverse("feedback_inbox")).content.decode()


def test_a_named_answer_from_the_inbox_can_be_changed_from_the_inbox(client, participant):
    feedback_round = pulse_round(anonymous=False)
    prompt, _emailed = prompt_with_token(feedback_round, participant)
    client.force_login(participant)
    url = reverse("feedback_prompt", args=[prompt.pk])

    response = client.post(url, GOOD_ANSWERS)
    assert response["Location"] == f"{url}?saved=1"
    client.post(url, {**GOOD_ANSWERS, "trust": "5"})

    assert Response.objects.get().respondent == participant
    assert Answer.objects.get(question__key="trust").number == 5
    assert "Change my answer" in client.get(reverse("feedback_inbox")).content.decode()


def test_someone_else_s_prompt_is_not_found(client, participant, outsider):
    feedback_round = pulse_round()
    prompt, _token = prompt_with_token(feedback_round, participant)
    client.force_login(outsider)

    assert client.get(reverse("feedback_prompt", args=[prompt.pk])).status_code == 404
    assert (
        client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS).status_code == 404
    )
    assert not Response.objects.exists()


def add_extra_questions(feedback_round, count: int) -> dict[str, str]:
    from feedback.models import Question
    from tests.factories import QuestionFactory

    answers = {}
    for n in range(count):
        QuestionFactory(
            questionnaire=None,
            pilot=feedback_round.pilot,
            key=f"extra_{n}",
            kind=Question.Kind.SCALE,
            min_value=1,
            max_value=5,
            position=n,
        )
        answers[f"extra_{n}"] = "3"
    return answers


@pytest.mark.parametrize("extra", [0, 5])
def test_the_answer_page_makes_the_same_queries_for_few_or_many_questions(
    client, participant, django_assert_max_num_queries, extra
):
    feedback_round = pulse_round()
    answers = add_extra_questions(feedback_round, extra)
    _prompt, token = prompt_with_token(feedback_round, participant)
    url = reverse("feedback_answer", args=[token])

    # Prompt with round, pilot and questionnaire; the round's questions; the token's response.
    with django_assert_max_num_queries(3):
        assert client.get(url).status_code == 200
    # The above, then: the prompt by token, savepoint, lock the round, the pilot, the
    # questions, the prompt under the lock, the token's response, the conditional update, the
    # response, the rewrite of the round's prompts (anonymity), the answers in bulk, release.
    with django_assert_max_num_queries(15):
        assert client.post(url, {**GOOD_ANSWERS, **answers}).status_code == 302
    assert Answer.objects.count() == 5 + extra


def test_the_inbox_of_a_lead_links_to_their_pilots_own_questions(client, lead, team):
    from tests.factories import PilotFactory

    led = PilotFactory(team=team, lead=lead, stage="pilot")
    stopped = PilotFactory(team=team, lead=lead, stage="stopped")
    client.force_login(lead)

    html = client.get(reverse("feedback_inbox")).content.decode()

    assert reverse("feedback_pilot_questions", args=[led.pk]) in html
    assert reverse("feedback_pilot_questions", args=[stopped.pk]) not in html


def test_the_inbox_says_when_a_pilot_with_an_open_round_is_paused(client, participant):
    feedback_round = pulse_round(stage="paused")
    prompt, _token = prompt_with_token(feedback_round, participant)
    client.force_login(participant)

    html = client.get(reverse("feedback_inbox")).content.decode()

    assert "is paused" in html
    assert reverse("feedback_prompt", args=[prompt.pk]) not in html


def test_a_named_pilot_s_form_says_answers_carry_names(client, participant):
    feedback_round = pulse_round(anonymous=False)
    _prompt, token = prompt_with_token(feedback_round, participant)

    html = client.get(reverse("feedback_answer", args=[token])).content.decode()

    assert "collects feedback with names" in html
    assert "Your answers are anonymous" not in html
