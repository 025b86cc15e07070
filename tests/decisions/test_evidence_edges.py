"""Evidence shapes mutation testing found unbuilt (`make mutation`): an interval ending exactly
on the target, more rounds than the last RECENT_ROUNDS. (A single answer never reaches the
evidence: the anonymity threshold hides it; tests/feedback/test_stats_edges.py pools one.)"""

from decimal import Decimal

import pytest

from decisions import evidence
from decisions.evidence import RECENT_ROUNDS, MetricStatus
from pilots.models import Pilot
from tests.decisions.evidence_support import add_round, scores
from tests.factories import ParticipationFactory, PilotFactory, SuccessMetricFactory, TeamFactory

pytestmark = pytest.mark.django_db

HIGH = [5, 5, 5, 4, 5]  # on the 1–5 scale: the interval's top is cut at 5
LOW = [1, 1, 1, 2, 1]  # its bottom is cut at 1


@pytest.mark.parametrize(
    ("answers", "target", "direction", "end"),
    [
        (HIGH, "5", "lower", "ci_high"),  # below 5? the top touches it: not met
        (LOW, "1", "lower", "ci_low"),  # above 1? the bottom touches it: not "not met"
        (HIGH, "5", "higher", "ci_high"),  # below 5? the top touches it: not "not met"
        (LOW, "1", "higher", "ci_low"),  # above 1? the bottom touches it: not met
    ],
)
def test_an_interval_that_ends_exactly_on_the_target_is_inconclusive(
    answers, target, direction, end
):
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(
        pilot=pilot, direction=direction, baseline=None, target=Decimal(target), min_responses=5
    )
    add_round(pilot, scores("quality", answers))
    [e] = evidence.metric_statuses(pilot)
    assert getattr(e, end) == float(target)
    assert (e.status, e.enough_responses) == (MetricStatus.INCONCLUSIVE, True)
    assert f"contains the target {target}" in e.reason


def _minutes_rounds(pilot: Pilot) -> None:
    """An old round far off, then the last RECENT_ROUNDS rounds saving 90 minutes on average."""
    add_round(pilot, scores("minutes_saved", [900] * 5), weeks_ago=RECENT_ROUNDS + 1)
    for weeks in range(RECENT_ROUNDS, 0, -1):
        add_round(pilot, scores("minutes_saved", [60, 120, 60, 120, 90]), weeks_ago=weeks)


def test_hours_saved_on_the_pilot_page_count_only_the_last_three_rounds():
    pilot = PilotFactory(stage="pilot", cadence="monthly")
    ParticipationFactory(pilot=pilot)
    _minutes_rounds(pilot)
    context = evidence.page_context(pilot)
    assert len(context["evidence_rounds"]) == RECENT_ROUNDS + 1  # all charted
    assert (context["hours_saved"].estimate, context["hours_saved"].n) == (
        pytest.approx(90 / 60),
        5 * RECENT_ROUNDS,
    )


def test_the_portfolio_hours_count_only_each_pilots_last_three_rounds():
    team = TeamFactory(name="Support")
    for stage in ("pilot", "sandbox"):
        pilot = PilotFactory(stage=stage, team=team, cadence="monthly")
        ParticipationFactory(pilot=pilot)
        _minutes_rounds(pilot)
    context = evidence.portfolio_context(Pilot.objects.all())
    by_stage = {r["key"]: r["hours"] for r in context["hours_by_stage"]}
    assert by_stage == {"pilot": pytest.approx(90 / 60), "sandbox": pytest.approx(90 / 60)}
    [support] = context["hours_by_team"]
    assert support["hours"] == pytest.approx(2 * 90 / 60)


def test_a_gate_snapshot_keeps_the_last_three_answered_rounds_it_was_judged_on():
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    add_round(pilot, scores("quality", [1] * 10), weeks_ago=RECENT_ROUNDS + 1)
    recent = [
        add_round(pilot, scores("quality", [5, 4, 5, 5, 4]), weeks_ago=w)
        for w in range(RECENT_ROUNDS, 0, -1)
    ]
    snapshot = evidence.evidence_snapshot(pilot)
    assert snapshot["rounds"] == [r.pk for r in reversed(recent)]
    assert (snapshot["metrics"][0]["n"], snapshot["metrics"][0]["status"]) == (
        5 * RECENT_ROUNDS,
        MetricStatus.MET,
    )
    assert [g.status for g in evidence.metrics_met(pilot)] == ["passed"]
