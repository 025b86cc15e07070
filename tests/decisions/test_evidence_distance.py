"""How far an inconclusive metric is from a decision: computed, stored, worded, shown."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from scipy import stats as sp

from decisions import evidence
from decisions.evidence import MetricStatus, Need
from pilots import lifecycle
from tests.decisions.evidence_support import add_round, scores
from tests.factories import PilotFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db

# Mean 3.6, sd 0.97 over 10 answers: the interval (2.9 to 4.3) straddles a target of 3.5.
STRADDLING = [3, 4, 5, 3, 4, 2, 5, 4, 3, 3]


def _pilot(**kwargs):
    return PilotFactory(stage=kwargs.pop("stage", "pilot"), **kwargs)


def _reference_round_size(values, target) -> int:
    """The fewest answers whose t interval at this sample's sd leaves the target (scipy)."""
    sd, distance = np.std(values, ddof=1), abs(np.mean(values) - target)
    n = 2
    while sp.t.ppf(0.975, n - 1) * sd / math.sqrt(n) >= distance:
        n += 1
    return n


def test_a_straddling_metric_says_how_many_answers_a_round_needs_at_the_current_spread():
    pilot = _pilot()
    metric = SuccessMetricFactory(
        pilot=pilot, question_key="quality", target=Decimal("3.5"), min_responses=5
    )
    add_round(pilot, scores("quality", STRADDLING))

    [e] = evidence.metric_statuses(pilot)

    assert e.status == MetricStatus.INCONCLUSIVE
    needed = _reference_round_size(STRADDLING, 3.5)
    assert needed > 300  # an estimate 0.1 above its target, with an sd near 1
    assert (e.to_decide.need, e.to_decide.round_size) == (Need.SPREAD, needed)
    assert e.to_decide.answers == needed - 10
    assert e.to_decide.rounds is None  # more rounds of the same people do not narrow it
    assert e.to_decide.per_round == 10
    assert f"about {needed} answers in a round, {needed - 10} more" in e.to_decide_reason
    assert "do not narrow" in e.to_decide_reason
    assert metric.name


def test_the_needed_answers_use_the_side_of_the_interval_that_faces_the_target():
    # Counts: the interval reaches further up than down. "Lower is better" with the estimate
    # below the target is decided by the upper end, so that side's spread is the one used.
    pilot = _pilot()
    SuccessMetricFactory(
        pilot=pilot, question_key="minutes_saved", target=Decimal("90"), direction="lower",
        baseline=Decimal("120"), min_responses=5,
    )  # fmt: skip
    minutes = [60, 90, 120, 30, 60, 90]
    add_round(pilot, scores("minutes_saved", minutes))

    [e] = evidence.metric_statuses(pilot)

    assert e.status == MetricStatus.INCONCLUSIVE
    upper_half = e.ci_high - e.estimate
    assert upper_half > e.estimate - e.ci_low
    spread = upper_half * math.sqrt(6) / sp.t.ppf(0.975, 5)
    n = 2
    while sp.t.ppf(0.975, n - 1) * spread / math.sqrt(n) >= 15:
        n += 1
    assert e.to_decide.round_size == n


def test_too_few_answers_say_how_many_more_and_in_how_many_rounds():
    pilot = _pilot()
    SuccessMetricFactory(
        pilot=pilot, question_key="quality", target=3, baseline=2, min_responses=15
    )
    add_round(pilot, scores("quality", [4, 5, 4, 4, 5, 4]))

    [e] = evidence.metric_statuses(pilot)

    assert not e.enough_responses
    assert (e.to_decide.need, e.to_decide.answers) == (Need.ANSWERS, 9)
    # 6 now, 12 after one more round of 6, 18 after two.
    assert (e.to_decide.rounds, e.to_decide.per_round) == (2, 6)
    assert e.to_decide_reason == (
        "About 9 more answers are needed to judge it: about 2 more round(s) at 6 answers per round."
    )


def test_rounds_too_small_to_ever_reach_the_minimum_say_so_instead_of_a_round_count():
    pilot = _pilot()
    SuccessMetricFactory(
        pilot=pilot, question_key="quality", target=3, baseline=2, min_responses=30
    )
    for weeks_ago in (0, 1):
        add_round(pilot, scores("quality", [4, 5, 4, 4, 5, 4]), weeks_ago=weeks_ago)

    [e] = evidence.metric_statuses(pilot)

    assert (e.to_decide.answers, e.to_decide.rounds) == (18, None)
    assert "never reach 30 over the last 3 rounds" in e.to_decide_reason


def test_an_estimate_on_its_target_or_a_decided_metric_gets_no_estimate():
    pilot = _pilot()
    on_target = SuccessMetricFactory(
        pilot=pilot, name="On", question_key="quality", target=Decimal("3.6"), min_responses=5
    )
    met = SuccessMetricFactory(
        pilot=pilot, name="Met", question_key="quality", target=Decimal("1.5"), baseline=1,
        min_responses=5,
    )  # fmt: skip
    add_round(pilot, scores("quality", STRADDLING))

    by_name = {e.metric.name: e for e in evidence.metric_statuses(pilot)}

    assert by_name["On"].estimate == pytest.approx(float(on_target.target))
    assert by_name["On"].status == MetricStatus.INCONCLUSIVE
    assert by_name["On"].to_decide is None and by_name["On"].to_decide_reason == ""
    assert by_name["Met"].status == MetricStatus.MET and met.name
    assert by_name["Met"].to_decide is None


def test_a_pilot_without_answers_gets_no_estimate():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, question_key="quality")

    [e] = evidence.metric_statuses(pilot)

    assert e.to_decide is None


def test_a_decision_stores_the_distance_as_data_and_words_it_when_read(ops):
    pilot = _pilot(stage="sandbox")
    SuccessMetricFactory(
        pilot=pilot, name="Quality", question_key="quality", target=Decimal("3.5"),
        min_responses=5,
    )  # fmt: skip
    add_round(pilot, scores("quality", STRADDLING))

    change = lifecycle.move(pilot.pk, "pause", actor=ops, expected_stage="sandbox", rationale="x")

    [stored] = change.evidence["metrics"]
    needed = _reference_round_size(STRADDLING, 3.5)
    assert stored["to_decide"] == {
        "need": "spread",
        "answers": needed - 10,
        "rounds": None,
        "per_round": 10,
        "round_size": needed,
    }
    assert "reason" not in stored and "to_decide_reason" not in stored  # data, not sentences
    [worded] = evidence.worded_snapshot(change.evidence)["metrics"]
    assert f"about {needed} answers in a round" in worded["to_decide_reason"]


def test_a_snapshot_recorded_before_distances_were_stored_still_reads():
    snapshot = {
        "version": 2,
        "metrics": [
            {
                "metric": "Quality",
                "question": "quality",
                "target": 3.5,
                "direction": "higher",
                "min_responses": 5,
                "status": "inconclusive",
                "enough_responses": True,
                "n": 10,
                "n_effective": 10,
                "estimate": 3.6,
                "ci": [2.9, 4.3],
                "rounds": 1,
            }
        ],
        "recommendation": None,
    }

    [worded] = evidence.worded_snapshot(snapshot)["metrics"]

    assert worded["to_decide_reason"] == ""
    assert "contains the target" in worded["reason"]


def _straddling_pilot(**kwargs):
    pilot = _pilot(**kwargs)
    SuccessMetricFactory(
        pilot=pilot, name="Quality", question_key="quality", target=Decimal("3.5"),
        min_responses=5,
    )  # fmt: skip
    add_round(pilot, scores("quality", STRADDLING))
    return pilot


def test_the_pilot_page_shows_the_distance_next_to_the_inconclusive_metric(client, ops):
    pilot = _straddling_pilot()
    client.force_login(ops)

    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()

    needed = _reference_round_size(STRADDLING, 3.5)
    row = page[page.index(f'data-metric="{pilot.metrics.get().pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'class="to-decide"' in row
    assert f"about {needed} answers in a round" in row


def test_the_report_and_its_markdown_show_the_distance(client, ops):
    pilot = _straddling_pilot()
    client.force_login(ops)
    needed = _reference_round_size(STRADDLING, 3.5)

    html = client.get(reverse("pilot_report", args=[pilot.pk])).content.decode()
    markdown = client.get(reverse("pilot_report_markdown", args=[pilot.pk])).content.decode()

    assert f"about {needed} answers in a round" in html
    line = next(x for x in markdown.splitlines() if x.startswith("| Quality |"))
    assert f"about {needed} answers in a round" in line


def test_the_evidence_api_gives_the_distance_as_figures_and_as_a_sentence(ops):
    pilot = _straddling_pilot()
    api = APIClient()
    api.force_authenticate(ops)

    [metric] = api.get(f"/api/evidence/{pilot.pk}/").json()["metrics"]

    needed = _reference_round_size(STRADDLING, 3.5)
    assert metric["to_decide"] == {
        "need": "spread",
        "answers": needed - 10,
        "rounds": None,
        "per_round": 10,
        "round_size": needed,
    }
    assert metric["n_effective"] == 10
    assert f"about {needed} answers in a round" in metric["to_decide_reason"]
