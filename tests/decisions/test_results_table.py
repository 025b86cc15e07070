"""Results at a glance: a row per success metric and metric guardrail, on the pilot page and
in the report, every figure from decisions.evidence (anonymity threshold included)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from decisions import guardrails
from pilots.models import Guardrail
from tests.decisions.evidence_support import add_round, scores
from tests.factories import MetricGuardrailFactory, PilotFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pilot():
    return PilotFactory(stage="pilot")


@pytest.fixture
def reader(client, outsider):
    client.force_login(outsider)
    return client


def table(client, pilot) -> dict:
    response = client.get(reverse("pilot_detail", args=[pilot.pk]))
    assert response.status_code == 200
    return {
        "rows": {row.key: row for row in response.context["results_table"]["rows"]},
        "html": response.content.decode(),
    }


def test_a_metric_row_shows_baseline_estimate_change_bar_and_status(reader, pilot):
    metric = SuccessMetricFactory(
        pilot=pilot, name="Quality", baseline=Decimal("3"), target=Decimal("3.5"), min_responses=5
    )
    add_round(pilot, scores("quality", [4, 4, 5, 4, 4, 5, 4, 4]))
    page = table(reader, pilot)
    row = page["rows"][f"metric-{metric.pk}"]
    assert (row.baseline, row.status_label, row.target) == (3.0, "Met", "≥ 3.5")
    assert row.estimate == pytest.approx(4.25)
    assert row.change == pytest.approx(1.25)
    assert row.change_percent == pytest.approx(41.67, abs=0.01)
    html = page["html"]
    assert "Results at a glance" in html
    bar = re.search(rf'<svg[^>]*id="result-bar-{metric.pk}".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in bar
    assert "<title" in bar and "Quality: change from the baseline" in bar
    assert "against a target of +16.67%" in bar
    assert 'class="target"' in bar and 'class="interval"' in bar


def test_an_inconclusive_metric_says_about_how_many_more_answers(reader, pilot):
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", min_responses=10)
    add_round(pilot, scores("quality", [4, 4, 3, 4, 5]))
    row = table(reader, pilot)["rows"][f"metric-{metric.pk}"]
    assert row.status_label == "Inconclusive"
    assert row.to_decide.startswith("About 5 more answers are needed")


def test_a_round_below_the_anonymity_threshold_shows_no_figure(reader, pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", min_responses=2)
    add_round(pilot, scores("quality", [1, 5, 5]))
    page = table(reader, pilot)
    row = page["rows"][f"metric-{metric.pk}"]
    assert (row.estimate, row.low, row.change, row.bar) == (None, None, None, None)
    assert "not enough answers to show" in page["html"]
    assert f'id="result-bar-{metric.pk}"' not in page["html"]


def test_every_bar_is_drawn_on_one_axis(reader, pilot):
    # Two scales (1-5 and minutes): in percent of their baselines, the baseline is one line.
    quality = SuccessMetricFactory(
        pilot=pilot, name="Quality", baseline=Decimal("3"), target=Decimal("3.5"), min_responses=2
    )
    minutes = SuccessMetricFactory(
        pilot=pilot,
        name="Minutes",
        question_key="minutes_saved",
        baseline=Decimal("30"),
        target=Decimal("45"),
        min_responses=2,
    )
    add_round(pilot, [{"quality": 4, "minutes_saved": m} for m in (40, 50, 60, 45, 55)])
    html = table(reader, pilot)["html"]
    baselines = {
        m.pk: re.search(
            rf'id="result-bar-{m.pk}".*?<line class="baseline" x1="([\d.]+)"', html, re.S
        ).group(1)
        for m in (quality, minutes)
    }
    assert baselines[quality.pk] == baselines[minutes.pk]
    assert 'class="change-axis"' in html


def test_a_metric_guardrail_row_shows_what_the_last_checked_round_saw(reader, pilot):
    guardrail = MetricGuardrailFactory(
        pilot=pilot, description="Trust holds", action=Guardrail.Action.FLAG
    )
    r = add_round(pilot, scores("trust", [4, 4, 5, 4, 3, 4]))
    guardrails.evaluate_round(r.pk)
    row = table(reader, pilot)["rows"][f"guardrail-{guardrail.pk}"]
    assert (row.status, row.status_label, row.target) == ("holding", "holding", "≥ 3")
    assert row.estimate == pytest.approx(4.0)
    assert row.bar is None


def test_a_broken_guardrail_row_says_broken(reader, pilot):
    guardrail = MetricGuardrailFactory(
        pilot=pilot, description="Trust holds", action=Guardrail.Action.FLAG
    )
    r = add_round(pilot, scores("trust", [2, 2, 1, 2, 3, 2]))
    guardrails.evaluate_round(r.pk)
    row = table(reader, pilot)["rows"][f"guardrail-{guardrail.pk}"]
    assert row.status_label == "broken"


def test_a_guardrail_never_checked_is_not_evaluated(reader, pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot, description="Trust holds")
    row = table(reader, pilot)["rows"][f"guardrail-{guardrail.pk}"]
    assert (row.status, row.estimate) == ("not_evaluated", None)


def test_the_report_shows_the_same_table(reader, pilot):
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", min_responses=5)
    add_round(pilot, scores("quality", [4, 4, 5, 4, 4, 5]))
    html = reader.get(reverse("pilot_report", args=[pilot.pk])).content.decode()
    assert "Results at a glance" in html
    assert f'id="result-bar-{metric.pk}"' in html


@pytest.mark.parametrize("size", [2, 12])
def test_the_pilot_page_pays_the_same_queries_for_2_or_12_measures(
    reader, pilot, django_assert_max_num_queries, size
):
    for i in range(size):
        SuccessMetricFactory(pilot=pilot, name=f"Quality {i}", min_responses=2)
    # One guardrail per question and statistic (a unique constraint).
    for key in ["trust", "quality", "recommend", "minutes_saved"][: size // 3 + 1]:
        MetricGuardrailFactory(pilot=pilot, description=key, question_key=key, action="flag")
    answers = {"quality": 4, "trust": 4, "recommend": 8, "minutes_saved": 30}
    r = add_round(pilot, [answers for _ in range(6)])
    guardrails.evaluate_round(r.pk)
    # Once before counting: the first page of a process also looks up the history's content
    # type, which Django then caches for the life of the process.
    table(reader, pilot)
    with django_assert_max_num_queries(PILOT_PAGE_QUERIES):
        table(reader, pilot)


# Session, user, Ops or not, the navigation, the pilot, its rounds, conclusion, metrics,
# participants, stage changes, closed rounds, open breaches, guardrails and their latest
# checks, hours-saved participants, the open request for a decision, the watch button, the
# history's change records, …: 21 today, whatever the number of measures.
PILOT_PAGE_QUERIES = 21


def test_the_axis_labels_at_both_ends_stay_inside_the_drawing():
    from decisions import charts

    svg = str(charts.change_axis_svg(charts.change_axis([-10.0, 55.0])))
    anchors = re.findall(r'text-anchor="(\w+)"', svg)
    # A centred label on the first or last tick is cut in half by the edge of the drawing.
    assert anchors[0] == "start" and anchors[-1] == "end"
    assert set(anchors[1:-1]) <= {"middle"}
