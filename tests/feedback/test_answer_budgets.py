"""Query budgets of the answer page: the same at 10 and at 200 prompts in the round.

GET by link, first visit (2): the prompt with its round and pilot; the round's questions. An
unanswered prompt has no response to look for. Once answered (+2): the response its token edits
and its answers. The questions' words and controls, and a blank form's HTML, come from a
per-process cache.
POST, first answer by link (6 + 2 savepoint statements of the test's transaction): the prompt,
the questions, the round locked with its pilot, the conditional UPDATE that claims the prompt,
the response, its answers. On PostgreSQL an anonymous round's prompts are also rewritten in
one UPDATE (answering._blur_row_versions), one query more at any size.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from feedback import answering, tokens
from feedback.models import Prompt, Response
from tests.factories import UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

SIZES = [10, 200]
GET_BUDGET = 2
POST_BUDGET = 8


def post_budget() -> int:
    return POST_BUDGET + (connection.vendor == "postgresql")


def round_of(size: int, *, anonymous: bool = True):
    """A round with `size` prompts; return it and the token of one of them."""
    feedback_round = pulse_round(anonymous=anonymous)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"budget-{size}-{i}", password="!") for i in range(size - 1)
    )
    Prompt.objects.bulk_create(
        Prompt(round=feedback_round, participant=u, token_hash=tokens.make_token()[1])
        for u in users
    )
    prompt, token = prompt_with_token(feedback_round, UserFactory())
    return feedback_round, prompt, token


@pytest.mark.parametrize("size", SIZES)
def test_the_answer_page_costs_the_same_queries_at_any_round_size(
    client, django_assert_max_num_queries, size
):
    _round, _prompt, token = round_of(size)
    url = reverse("feedback_answer", args=[token])
    client.get(url)  # the questions' specs are cached from the first page on

    with django_assert_max_num_queries(GET_BUDGET):
        page = client.get(url)
    assert page.status_code == 200
    assert 'name="quality"' in page.content.decode()

    answering.submit_response(token=token, answers=GOOD_ANSWERS)
    with django_assert_max_num_queries(GET_BUDGET + 2):  # + the response and its answers
        page = client.get(url)
    assert 'value="4" aria-required="true" id="id_quality_3" checked' in page.content.decode()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("anonymous", [True, False])
def test_a_first_answer_costs_the_same_queries_at_any_round_size(
    client, django_assert_max_num_queries, size, anonymous
):
    feedback_round, prompt, token = round_of(size, anonymous=anonymous)
    url = reverse("feedback_answer", args=[token])

    with django_assert_max_num_queries(post_budget()):
        reply = client.post(url, GOOD_ANSWERS)

    assert reply.status_code == 302
    assert Response.objects.filter(round=feedback_round).count() == 1
    assert list(Prompt.objects.filter(answered=True).values_list("pk", flat=True)) == [prompt.pk]


@pytest.mark.parametrize("size", SIZES)
def test_changing_an_answer_costs_the_same_queries_at_any_round_size(
    client, django_assert_max_num_queries, size
):
    feedback_round, _prompt, token = round_of(size)
    url = reverse("feedback_answer", args=[token])
    client.post(url, GOOD_ANSWERS)

    # + reading the prompt's token again and the response to replace, − the response's INSERT,
    # + deleting its answers.
    with django_assert_max_num_queries(post_budget() + 2):
        reply = client.post(url, dict(GOOD_ANSWERS, quality="2"))

    assert reply.status_code == 302
    [response] = Response.objects.filter(round=feedback_round)
    assert response.answers.get(question__key="quality").number == 2


@pytest.mark.parametrize("size", SIZES)
def test_an_inbox_answer_costs_the_same_queries_at_any_round_size(
    client, django_assert_max_num_queries, size
):
    _round, prompt, _token = round_of(size)
    client.force_login(prompt.participant)
    url = reverse("feedback_prompt", args=[prompt.pk])
    client.get(url)

    # + the session and the user of the logged-in participant, and whether they lead a team
    # (the navigation offers "Propose a pilot").
    with django_assert_max_num_queries(GET_BUDGET + 3):
        assert client.get(url).status_code == 200
    # + the prompts whose edit links the browser keeps (views._remember_edit_link).
    with django_assert_max_num_queries(post_budget() + 3):
        reply = client.post(url, GOOD_ANSWERS)
    assert reply.status_code == 302


def test_a_question_added_while_the_round_is_open_shows_on_the_next_page(client):
    """The cached words and controls are keyed by every field of every question."""
    from feedback.models import Question

    feedback_round, _prompt, token = round_of(2)
    url = reverse("feedback_answer", args=[token])
    assert "Which day?" not in client.get(url).content.decode()
    Question.objects.create(
        pilot=feedback_round.pilot,
        key="day",
        text="Which day?",
        kind="choice",
        required=False,
        choices=[["mon", "Monday"], ["tue", "Tuesday"]],
    )
    html = client.get(url).content.decode()
    assert "Which day?" in html
    assert 'value="tue" id="id_day_1">\n Tuesday</label>' in html
    Question.objects.filter(key="day").update(text="Which <b>weekday</b>?")
    html = client.get(url).content.decode()
    assert "Which &lt;b&gt;weekday&lt;/b&gt;?" in html
