"""The results table outside the pilot page: in the API (/api/v1/pilots/{id}/results/) and in
the Markdown report, with the same figures and the same anonymity threshold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from decisions import guardrails
from pilots.models import Guardrail
from tests.decisions.evidence_support import add_round, scores
from tests.factories import MetricGuardrailFactory, PilotFactory, SuccessMetricFactory
from tests.web.test_query_budgets import SIZES, populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def pilot():
    return PilotFactory(stage="pilot", title="Reply drafts")


@pytest.fixture
def api(outsider) -> APIClient:
    client = APIClient()
    client.force_authenticate(outsider)
    return client


def api_rows(api, pilot) -> dict:
    response = api.get(f"/api/v1/pilots/{pilot.pk}/results/")
    assert response.status_code == 200
    assert response.json()["pilot"] == pilot.pk
    return {row["key"]: row for row in response.json()["rows"]}


def page_rows(client, pilot) -> dict:
    response = client.get(reverse("pilot_detail", args=[pilot.pk]))
    return {row.key: row for row in response.context["results_table"]["rows"]}


def markdown(client, pilot) -> str:
    response = client.get(reverse("pilot_report_markdown", args=[pilot.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_api_gives_the_rows_the_pilot_page_shows(api, client, outsider, pilot):
    metric = SuccessMetricFactory(
        pilot=pilot, name="Quality", baseline=Decimal("3"), target=Decimal("3.5"), min_responses=5
    )
    guardrail = MetricGuardrailFactory(
        pilot=pilot, description="Trust holds", action=Guardrail.Action.FLAG
    )
    r = add_round(pilot, [{"quality": q, "trust": 4} for q in (4, 4, 5, 4, 4, 5, 4, 4)])
    guardrails.evaluate_round(r.pk)
    rows = api_rows(api, pilot)
    client.force_login(outsider)
    shown = page_rows(client, pilot)
    row = rows[f"metric-{metric.pk}"]
    expected = shown[f"metric-{metric.pk}"]
    assert row["estimate"] == pytest.approx(expected.estimate) == pytest.approx(4.25)
    assert (row["ci_low"], row["ci_high"]) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
    )
    assert row["change"] == pytest.approx(1.25)
    assert row["change_percent"] == pytest.approx(41.67, abs=0.01)
    assert (row["status"], row["status_label"], row["target"]) == ("met", "Met", "≥ 3.5")
    assert (row["target_value"], row["comparator"], row["baseline"]) == (3.5, "higher", 3.0)
    g = rows[f"guardrail-{guardrail.pk}"]
    assert (g["kind"], g["status"], g["comparator"], g["target_value"]) == (
        "guardrail",
        "holding",
        "ge",
        3.0,
    )
    assert g["estimate"] == pytest.approx(4.0)


def test_the_api_gives_no_figure_below_the_anonymity_threshold(api, pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", min_responses=2)
    add_round(pilot, scores("quality", [1, 5, 5]))
    row = api_rows(api, pilot)[f"metric-{metric.pk}"]
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["change"]) == (
        None,
        None,
        None,
        None,
    )
    assert row["status"] == "inconclusive"


def test_the_api_hides_a_pilot_the_caller_may_not_see(api, lead, team):
    draft = PilotFactory(stage="draft", team=team, lead=lead)
    assert api.get(f"/api/v1/pilots/{draft.pk}/results/").status_code == 404


def test_the_markdown_report_has_the_results_table_with_the_same_figures(client, outsider, pilot):
    SuccessMetricFactory(
        pilot=pilot, name="Quality", baseline=Decimal("3"), target=Decimal("3.5"), min_responses=5
    )
    add_round(pilot, scores("quality", [4, 4, 5, 4, 4, 5, 4, 4]))
    client.force_login(outsider)
    [row] = page_rows(client, pilot).values()
    text = markdown(client, pilot)
    assert "## Results at a glance" in text
    assert (
        "| Measure | Baseline | Current estimate (95% interval) | Change from baseline | Target "
        "| Status |" in text
    )
    line = next(li for li in text.splitlines() if li.startswith("| Quality |"))
    cells = [c.strip() for c in line.strip("|").split(" | ")]
    assert cells[:2] == ["Quality", "3"]
    assert cells[2] == f"4.25 ({row.low:.2f} – {row.high:.2f})"
    assert cells[3] == "+1.25 (+42%)"
    assert cells[4] == "≥ 3.5"
    assert cells[5] == "Met"


def test_the_markdown_report_withholds_what_the_page_withholds(client, outsider, pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    SuccessMetricFactory(pilot=pilot, name="Quality", baseline=Decimal("3"), min_responses=2)
    add_round(pilot, scores("quality", [1, 5, 5]))
    client.force_login(outsider)
    line = next(li for li in markdown(client, pilot).splitlines() if li.startswith("| Quality |"))
    assert "not enough answers to show" in line
    assert "3.67" not in line and "3,67" not in line


# --- Query budgets at 10 and 1,000 pilots --------------------------------------------------------


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}_pilots")
def pilots(request, team, lead, participant):
    return populate(request.param, team=team, lead=lead, participant=participant)


# The report: session, user, Ops or not, the navigation's "leads a team", the pilot, its
# closed rounds, metrics, open breaches, guardrails and their latest checks, participants, the
# question words, its stage changes. The API (an authenticated client, no session): Ops or
# not, the pilot, its answered rounds, metrics, open breaches, guardrails and their latest
# checks — whatever the number of pilots.
@pytest.mark.parametrize(("name", "budget"), [("report", 12), ("api", 8)])
def test_the_results_table_costs_the_same_queries_at_every_size(
    client, django_assert_max_num_queries, pilots, lead, name, budget
):
    pilot = pilots[3]  # a pilot in the "pilot" stage, with closed rounds
    if name == "report":
        client.force_login(lead)
        url = reverse("pilot_report", args=[pilot.pk])
    else:
        client = APIClient()
        client.force_authenticate(lead)
        url = f"/api/v1/pilots/{pilot.pk}/results/"
    with django_assert_max_num_queries(budget):
        response = client.get(url)
    assert response.status_code == 200
