"""Trend charts: every number, scale and yes/no question of a pilot across its rounds, on the
pilot page and in the report, with a point only where the question met the anonymity
threshold."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from feedback.models import Question
from tests.decisions.evidence_support import add_round
from tests.factories import PilotFactory, QuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pilot():
    return PilotFactory(stage="pilot", title="Reply drafts")


@pytest.fixture
def reader(client, outsider):
    client.force_login(outsider)
    return client


def page(client, pilot, name="pilot_detail"):
    response = client.get(reverse(name, args=[pilot.pk]))
    assert response.status_code == 200
    return response


def trends(response) -> dict:
    return {c["trend"].key: c for c in response.context["question_charts"]}


def chart_html(html: str, key: str) -> str:
    """The wide drawing of one question's chart."""
    match = re.search(rf'<svg[^>]*id="chart-question-{key}-wide".*?</svg>', html, re.S)
    assert match, f"no chart for {key}"
    return match.group(0)


def answers(n: int, *, trust_answers: int | None = None, incidents: int = 0) -> list[dict]:
    """n responses; only the first `trust_answers` answer the trust question (all: None)."""
    rows = []
    for i in range(n):
        row = {"quality": 3 + i % 3, "minutes_saved": 10 + i, "incident": i < incidents}
        if trust_answers is None or i < trust_answers:
            row["trust"] = 4
        rows.append(row)
    return rows


def test_every_numeric_and_yes_no_question_gets_a_chart_not_only_metrics(reader, pilot):
    # The pilot has no success metric at all; its questions still get their trends.
    add_round(pilot, answers(6), weeks_ago=2)
    add_round(pilot, answers(6), weeks_ago=1)
    response = page(reader, pilot)
    charted = trends(response)
    assert {"quality", "trust", "minutes_saved", "incident"} <= set(charted)
    # Choice and text questions have no trend.
    assert not {"incident_kind", "comment", "incident_description"} & set(charted)
    assert [p.index for p in charted["quality"]["trend"].points] == [0, 1]
    html = response.content.decode()
    assert "Every question across rounds" in html
    chart = chart_html(html, "quality")
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    assert chart.count('class="point"') == 2


def test_a_question_under_the_threshold_in_round_two_has_no_point_for_round_two(
    reader, pilot, settings
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    add_round(pilot, answers(6), weeks_ago=3)
    # Six responses (the round is shown), but only two answered the trust question.
    add_round(pilot, answers(6, trust_answers=2), weeks_ago=2)
    add_round(pilot, answers(6), weeks_ago=1)
    response = page(reader, pilot)
    charted = trends(response)
    assert [p.index for p in charted["trust"]["trend"].points] == [0, 2]
    assert charted["trust"]["trend"].withheld == (1,)
    # The other questions of that round keep their point.
    assert [p.index for p in charted["quality"]["trend"].points] == [0, 1, 2]
    chart = chart_html(response.content.decode(), "trust")
    assert re.findall(r'class="point" data-round="(\d)"', chart) == ["0", "2"]
    assert "too few answers to show" in chart
    # Nothing of the withheld round's two answers is said anywhere in the chart.
    assert "2 answers" not in chart


def test_a_round_under_the_threshold_gives_no_point_to_any_question(reader, pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    add_round(pilot, answers(6), weeks_ago=2)
    add_round(pilot, answers(3), weeks_ago=1)  # three responses: the round shows nothing
    charted = trends(page(reader, pilot))
    for key in ("quality", "trust", "incident"):
        assert [p.index for p in charted[key]["trend"].points] == [0]


def test_a_yes_no_question_is_shown_as_the_share_of_yes(reader, pilot):
    add_round(pilot, answers(8, incidents=2), weeks_ago=1)
    response = page(reader, pilot)
    trend = trends(response)["incident"]["trend"]
    [point] = trend.points
    assert point.value == pytest.approx(25.0)
    assert 0 <= point.low < 25 < point.high <= 100
    chart = chart_html(response.content.decode(), "incident")
    assert "share of “yes”" in chart
    assert ": 25% (95% interval" in chart
    assert ">100%</text>" in chart  # the axis is in percent


def test_a_question_never_shown_says_so_in_a_sentence(reader, pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    add_round(pilot, answers(6, trust_answers=1), weeks_ago=1)
    response = page(reader, pilot)
    assert trends(response)["trust"]["trend"].points == ()
    html = response.content.decode()
    assert re.search(
        r'<p class="chart-empty" id="chart-question-trust">No round has enough answers to this '
        r"question to show it yet.</p>",
        html,
    )


def test_the_report_shows_the_same_trends(reader, pilot):
    add_round(pilot, answers(6), weeks_ago=2)
    add_round(pilot, answers(6, incidents=3), weeks_ago=1)
    response = page(reader, pilot, "pilot_report")
    charted = trends(response)
    assert [p.value for p in charted["incident"]["trend"].points] == [0.0, 50.0]
    assert 'id="chart-question-incident-wide"' in response.content.decode()


@pytest.mark.parametrize(("rounds", "own_questions"), [(2, 0), (10, 4)])
def test_the_pilot_page_pays_the_same_queries_whatever_the_rounds_and_questions(
    reader, pilot, django_assert_max_num_queries, rounds, own_questions
):
    for i in range(own_questions):
        QuestionFactory(
            questionnaire=None,
            pilot=pilot,
            key=f"own_{i}",
            kind=Question.Kind.YES_NO if i % 2 else Question.Kind.SCALE,
            min_value=None if i % 2 else 1,
            max_value=None if i % 2 else 5,
        )
    for week in range(rounds):
        rows = [
            {**a, **{f"own_{i}": bool(j % 2) if i % 2 else 1 + j % 5 for i in range(own_questions)}}
            for j, a in enumerate(answers(6))
        ]
        add_round(pilot, rows, weeks_ago=rounds - week)
    url = reverse("pilot_detail", args=[pilot.pk])
    # The same budget as the pilot page at any size (tests/web/test_query_budgets.py).
    with django_assert_max_num_queries(22):
        response = reader.get(url)
    assert len(response.context["question_charts"]) == 5 + own_questions
