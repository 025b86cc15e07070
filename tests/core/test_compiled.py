"""core.compiled: a read compiled once gives what Django's own evaluation gives, on both legs."""

from __future__ import annotations

import pytest
from django.db.models import F, Q

from core.compiled import CompiledQuery
from feedback.models import Prompt, Question
from tests.factories import UserFactory
from tests.feedback.answering_support import prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

PROMPT = CompiledQuery(
    lambda token_hash: (
        Prompt.objects.select_related("round__pilot")
        .only(
            *("id", "round_id", "answered", "round__id", "round__pilot_id", "round__closes_at"),
            *("round__anonymous", "round__pilot__id", "round__pilot__title"),
        )
        .filter(token_hash=token_hash)
    ),
    "stand-in",
)


def fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def test_a_compiled_read_gives_the_same_objects_as_the_queryset_for_every_value(
    django_assert_num_queries,
):
    first_round, second_round = pulse_round(), pulse_round(anonymous=False)
    first, _ = prompt_with_token(first_round, UserFactory())
    second, _ = prompt_with_token(second_round, UserFactory())
    Prompt.objects.filter(pk=second.pk).update(answered=True)

    for prompt, feedback_round in ((first, first_round), (second, second_round)):
        with django_assert_num_queries(1):  # round and pilot read in the same query
            [found] = PROMPT(prompt.token_hash)
            # Values as the backend's converters give them (SQLite stores text and integers).
            assert found.round.closes_at == feedback_round.closes_at
            assert found.round.closes_at.tzinfo is not None
            assert found.round.anonymous is feedback_round.anonymous
            assert found.round.pilot.title == feedback_round.pilot.title
            assert found.answered is (prompt == second)
        [expected] = PROMPT.build(prompt.token_hash)
        assert found.pk == expected.pk == prompt.pk
        assert found.get_deferred_fields() == expected.get_deferred_fields()
        # A deferred field is still read on demand, as from the queryset.
        assert found.participant_id == prompt.participant_id
    assert PROMPT("no such hash") == []


def test_compiled_questions_keep_the_queryset_s_order_and_values():
    feedback_round = pulse_round()
    Question.objects.create(
        pilot=feedback_round.pilot, key="day", text="Which day?", kind="choice", required=False,
        choices=[["mon", "Monday"]],
    )  # fmt: skip
    build = lambda questionnaire_id, pilot_id: Question.objects.filter(  # noqa: E731
        Q(questionnaire_id=questionnaire_id) | Q(pilot_id=pilot_id)
    ).order_by(F("pilot_id").asc(nulls_first=True), "position", "pk")
    compiled = CompiledQuery(build, -1, -2)

    got = compiled(feedback_round.questionnaire_id, feedback_round.pilot_id)
    expected = list(build(feedback_round.questionnaire_id, feedback_round.pilot_id))

    assert [q.pk for q in got] == [q.pk for q in expected]
    assert got[-1].key == "day" and got[-1].choices == [["mon", "Monday"]]
    names = [f.attname for f in Question._meta.concrete_fields]
    assert [fields(q, names) for q in got] == [fields(q, names) for q in expected]


def test_a_none_value_is_read_by_django_as_is_null():
    feedback_round = pulse_round()
    Question.objects.create(pilot=feedback_round.pilot, key="own", text="Own?", kind="text")
    compiled = CompiledQuery(
        lambda questionnaire_id, pilot_id: Question.objects.filter(
            questionnaire_id=questionnaire_id, pilot_id=pilot_id
        ),
        -1,
        -2,
    )

    assert [q.key for q in compiled(None, feedback_round.pilot_id)] == ["own"]


def test_a_stand_in_that_is_not_found_exactly_once_is_refused():
    twice = CompiledQuery(
        lambda value: Question.objects.filter(Q(pilot_id=value) | Q(questionnaire_id=value)), -1
    )
    with pytest.raises(ValueError, match="found 2 times"):
        twice(5)
