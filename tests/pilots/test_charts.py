"""Server-rendered SVG charts: accessible, escaped, with interval band and target line."""

import re
from decimal import Decimal

import pytest

from pilots import charts
from tests.factories import PilotFactory, SuccessMetricFactory
from tests.pilots.evidence_support import add_round, scores

pytestmark = pytest.mark.django_db


def _accessible(svg: str) -> None:
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    title_id, desc_id = re.search(r'aria-labelledby="([^" ]+) ([^"]+)"', svg).groups()
    assert f'<title id="{title_id}">' in svg
    assert f'<desc id="{desc_id}">' in svg


def test_a_metric_chart_has_a_band_points_a_target_line_and_a_description():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.5"))
    rounds = [add_round(pilot, scores("quality", [4, 5, 3, 4, 5]), weeks_ago=w) for w in (2, 1, 0)]
    svg = str(charts.metric_chart(metric, rounds))
    _accessible(svg)
    assert svg.count('class="point"') == 3
    assert 'class="band"' in svg
    assert 'class="target"' in svg
    assert "Target 3.5." in svg
    assert "4.2 (95% interval" in svg


def test_a_round_withheld_under_the_threshold_leaves_a_gap(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot)
    rounds = [
        add_round(pilot, scores("quality", [4, 5, 3, 4, 5]), weeks_ago=1),
        add_round(pilot, scores("quality", [1, 1]), weeks_ago=0),
    ]
    svg = str(charts.metric_chart(metric, rounds))
    assert svg.count('class="point"') == 1


def test_chart_text_is_escaped():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, name="<script>alert(1)</script>")
    svg = str(charts.metric_chart(metric, []))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    _accessible(svg)


def test_the_response_rate_chart_draws_one_bar_per_round_and_says_the_rates():
    pilot = PilotFactory(stage="pilot")
    rounds = [
        add_round(pilot, scores("quality", [4] * 5), invited=10, weeks_ago=1),
        add_round(pilot, scores("quality", [4] * 8), invited=8, weeks_ago=0),
    ]
    svg = str(charts.response_rate_chart(rounds))
    _accessible(svg)
    assert svg.count('class="bar"') == 2
    assert "50% (5 of 10)" in svg and "100% (8 of 8)" in svg


def test_the_stage_history_chart_describes_each_series():
    svg = str(charts.stage_history_chart(["2026-01", "2026-02"], [("Pilot", [1, 3])]))
    _accessible(svg)
    assert "Pilot: 2026-01 1, 2026-02 3." in svg


def test_a_yes_share_metric_is_charted_from_the_summary_its_status_uses():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(
        pilot=pilot,
        name="Incident-free",
        question_key="incident",
        baseline=Decimal("0.2"),
        target=Decimal("0.5"),
    )
    answers = [{"incident": v} for v in (True, False, False, True, False, True)]
    rounds = [add_round(pilot, answers, weeks_ago=w) for w in (1, 0)]
    svg = str(charts.metric_chart(metric, rounds))
    _accessible(svg)
    assert svg.count('class="point"') == 2
    assert 'class="band"' in svg
    # Wilson interval of 3 yes out of 6: 0.19 to 0.81.
    assert "0.5 (95% interval 0.19 to 0.81)" in svg
