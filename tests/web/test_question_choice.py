"""Leads pick the question that measures a metric or guardrail from the ones their pilot asks."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from feedback import pilot_questions
from pilots import measures
from pilots.models import Pilot
from tests.factories import (
    GuardrailFactory,
    MetricGuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    QuestionFactory,
    SuccessMetricFactory,
    pulse_questionnaire,
)
from tests.web.conftest import proposal_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pulse():
    return pulse_questionnaire()


def select(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S)
    assert found, name
    return found.group(0)


def options(html: str, name: str) -> dict[str, str]:
    """The options of a select: value → label (unescaped apostrophes)."""
    return {
        value: label.replace("&#x27;", "'")
        for value, label in re.findall(
            r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select(html, name)
        )
    }


def selected(html: str, name: str) -> str | None:
    found = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', select(html, name))
    return found.group(1) if found else None


def test_the_metric_list_offers_the_questions_by_their_text_and_only_those_giving_a_number(
    client, lead
):
    client.force_login(lead)
    html = client.get(reverse("pilot_propose")).content.decode()

    metric = options(html, "metrics-0-question_key")
    assert metric["quality"] == "How good was the tool's output? (quality)"
    assert {"minutes_saved", "quality", "trust", "recommend", "incident"} <= set(metric)
    assert not {"incident_kind", "incident_description", "comment"} & set(metric)
    guardrail = options(html, "guardrails-0-question_key")
    assert guardrail[""] == "—"  # a policy rule has no question
    assert "comment" not in guardrail


def test_the_list_shows_the_question_in_french_to_a_french_reader(client, lead, pulse):
    question = pulse.questions.get(key="quality")
    question.translations = {"fr": {"text": "Quelle était la qualité du résultat ?"}}
    question.save()
    client.force_login(lead)

    html = client.get(reverse("pilot_propose"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert options(html, "metrics-0-question_key")["quality"] == (
        "Quelle était la qualité du résultat ? (quality)"
    )


def test_a_typo_is_refused_on_its_field_and_the_row_is_kept_as_typed(client, lead, team, tool):
    client.force_login(lead)

    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, **{"metrics-0-question_key": "qualty"}),
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert not Pilot.objects.exists()
    assert 'href="#id_metrics-0-question_key"' in html
    assert "“qualty” is not a question this pilot&#x27;s feedback asks" in html
    assert re.search(r'<select name="metrics-0-question_key"[^>]*aria-invalid="true"', html)
    assert selected(html, "metrics-0-question_key") == "qualty"
    assert options(html, "metrics-0-question_key")["qualty"] == (
        "qualty (not a question this pilot asks)"
    )
    assert 'value="Reply quality"' in html
    assert selected(html, "guardrails-0-question_key") == "trust"


def test_a_mean_of_a_yes_no_question_is_refused_on_the_statistic(client, lead, team, tool):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, **{"guardrails-0-question_key": "incident"}),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_guardrails-0-statistic"' in html
    assert "needs a number or scale question" in html
    assert not Pilot.objects.exists()


def test_a_lead_s_own_question_is_offered_on_its_pilot_s_page_only(client, lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="tickets",
        text="How many tickets did you close?",
        kind="number",
        min_value=Decimal(0),
        max_value=Decimal(200),
    )
    other = PilotFactory(lead=lead, team=team)
    client.force_login(lead)

    own = client.get(reverse("pilot_edit", args=[pilot.pk])).content.decode()
    elsewhere = client.get(reverse("pilot_edit", args=[other.pk])).content.decode()
    new = client.get(reverse("pilot_propose")).content.decode()

    label = "How many tickets did you close? (tickets)"
    assert options(own, "metrics-0-question_key")["tickets"] == label
    assert options(own, "guardrails-0-question_key")["tickets"] == label
    assert "tickets" not in options(elsewhere, "metrics-0-question_key")
    assert "tickets" not in options(new, "metrics-0-question_key")


def test_a_stored_unknown_key_is_shown_selected_so_the_lead_sees_and_fixes_it(
    client, lead, team, tool
):
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    SuccessMetricFactory(pilot=pilot, name="Quality", question_key="qualty")
    client.force_login(lead)

    html = client.get(reverse("pilot_edit", args=[pilot.pk])).content.decode()
    assert selected(html, "metrics-0-question_key") == "qualty"

    response = client.post(
        reverse("pilot_edit", args=[pilot.pk]),
        proposal_post(team=team, tool=tool, **{"metrics-0-question_key": "quality"}),
    )
    assert response.status_code == 302
    assert list(pilot.metrics.values_list("question_key", flat=True)) == ["quality"]


def test_the_submit_button_refuses_a_draft_whose_stored_key_is_unknown(client, lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot, name="Quality", question_key="qualty")
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=lead)
    client.force_login(lead)

    response = client.post(
        reverse("pilot_submit", args=[pilot.pk]), {"expected_stage": "draft"}, follow=True
    )

    assert "Success metric “Quality”: “qualty” is not a question" in response.content.decode()
    pilot.refresh_from_db()
    assert pilot.stage == "draft"


def test_a_guardrail_ops_disabled_is_shown_disabled_with_its_reason_and_not_counted(
    client, lead, team, ops
):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=lead)
    guardrail = MetricGuardrailFactory(pilot=pilot, description="Trust", question_key="trsut")
    measures.disable_guardrail(guardrail.pk, actor=ops, reason="Its question does not exist.")
    client.force_login(lead)

    detail = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    home = client.get(reverse("home")).content.decode()
    edit = client.get(reverse("pilot_edit", args=[pilot.pk])).content.decode()

    assert "disabled by Ops" in detail
    assert "Its question does not exist." in detail
    assert "Add at least one guardrail." in detail
    assert "Add at least one guardrail." in home
    assert 'value="Trust"' not in edit  # not the lead's to edit; saving keeps it as it is


@pytest.mark.parametrize("page", ["propose", "edit"])
def test_the_page_s_queries_do_not_grow_with_the_number_of_questions(
    client, lead, team, pulse, page, django_assert_max_num_queries
):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot)
    MetricGuardrailFactory(pilot=pilot)
    url = reverse("pilot_propose") if page == "propose" else reverse("pilot_edit", args=[pilot.pk])
    client.force_login(lead)
    client.get(url)  # warm the session and the user's caches

    def add_questions(n: int) -> None:
        start = pulse.questions.count()
        for i in range(n):
            QuestionFactory(questionnaire=pulse, key=f"extra_{start + i}", position=start + i)
            QuestionFactory(questionnaire=None, pilot=pilot, key=f"own_{start + i}", kind="number")

    add_questions(1)
    with django_assert_max_num_queries(QUERY_BUDGET[page]):
        assert client.get(url).status_code == 200
    add_questions(30)
    with django_assert_max_num_queries(QUERY_BUDGET[page]):
        html = client.get(url).content.decode()
    assert len(options(html, "metrics-0-question_key")) > 30


# Session, user, navigation and the form's lists (teams, tools, members); the asked questions are
# one query whatever their number, and the risk questionnaire's answers (one query). The propose
# page also lists the templates to start from (one query). The edit page also reads the pilot,
# its access and its rows.
QUERY_BUDGET = {"propose": 12, "edit": 16}
