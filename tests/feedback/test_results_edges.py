"""A shown yes/no question answered "no" by everyone (found unbuilt by `make mutation`)."""

from decimal import Decimal

import pytest
from scipy import stats as sp

from decisions import evidence
from decisions.evidence import MetricStatus
from feedback import stats
from feedback.results import summary_of
from tests.decisions.evidence_support import add_round
from tests.factories import PilotFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db


def _all_no(pilot, n: int):
    return add_round(pilot, [{"quality": 4, "incident": False} for _ in range(n)])


def test_a_yes_no_question_answered_no_by_everyone_shows_zero_yes_and_no_incident(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    results = _all_no(PilotFactory(stage="pilot"), 8).results
    [incident] = [q for q in results["questions"] if q["key"] == "incident"]
    assert (incident["shown"], incident["n"], incident["yes"], incident["no"]) == (True, 8, 0, 8)
    assert results["incidents"] == {"count": 0, "by_kind": []}


def test_everyone_answering_no_is_a_share_of_zero_with_the_wilson_interval_above_it(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    summary = summary_of(_all_no(PilotFactory(stage="pilot"), 8).results, "incident")
    assert (summary.n, summary.mean, summary.sd, summary.proportion) == (8, 0.0, 0.0, True)
    z2 = sp.norm.ppf(0.975) ** 2
    ci = stats.interval(summary)
    # Wilson for 0 of n: [0, z²/(n + z²)], never [0, 0].
    assert (ci.low, ci.high) == (0.0, pytest.approx(z2 / (8 + z2)))


def test_a_lower_is_better_yes_share_metric_answered_no_by_everyone_is_judged(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(
        pilot=pilot,
        question_key="incident",
        direction="lower",
        baseline=Decimal("0.9"),
        target=Decimal("0.5"),
        min_responses=10,
    )
    _all_no(pilot, 12)
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.estimate, e.ci_low) == (12, 0.0, 0.0)
    assert e.status == MetricStatus.MET
    assert "below the target 0.5" in e.reason
