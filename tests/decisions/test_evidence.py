"""Metric statuses, the recommendation, hours saved, snapshots and the portfolio figures."""

import datetime
from decimal import Decimal

import numpy as np
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from scipy import stats as sp

from decisions import evidence, guardrails
from decisions.evidence import MetricStatus, Recommendation
from pilots import lifecycle
from pilots.models import GuardrailBreach, StageChange
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    MetricGuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    TeamFactory,
    findings_for,
)
from tests.stats_reference import count_score_bounds, t_bounds

pytestmark = pytest.mark.django_db


def _pilot(**kwargs):
    return PilotFactory(stage=kwargs.pop("stage", "pilot"), **kwargs)


def test_a_metric_whose_whole_interval_beats_the_target_is_met():
    pilot = _pilot()
    metric = SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=10)
    add_round(pilot, scores("quality", [4, 5, 4, 4, 5, 4, 5, 4, 4, 5]), weeks_ago=2)
    add_round(pilot, scores("quality", [4, 4, 5, 5, 4, 4]), weeks_ago=1)
    [e] = evidence.metric_statuses(pilot)
    values = [4, 5, 4, 4, 5, 4, 5, 4, 4, 5, 4, 4, 5, 5, 4, 4]
    # Judged on the largest round's 10 answers (the same people may answer every round).
    low, high = sp.t.interval(
        0.95, 9, loc=np.mean(values), scale=np.std(values, ddof=1) / np.sqrt(10)
    )
    assert e.metric == metric
    assert (e.status, e.enough_responses, e.n, e.n_effective) == (MetricStatus.MET, True, 16, 10)
    assert e.estimate == pytest.approx(np.mean(values))
    assert (e.ci_low, e.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert "above the target 3.5" in e.reason


def test_five_identical_answers_above_the_target_are_not_met_from_the_mean_alone():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.75"), min_responses=5)
    add_round(pilot, scores("quality", [4, 4, 4, 4, 4]))
    [e] = evidence.metric_statuses(pilot)
    assert e.estimate == 4
    assert e.ci_low < 3.75 < e.ci_high
    assert e.status == MetricStatus.INCONCLUSIVE


def test_a_yes_share_metric_answered_yes_by_everyone_is_not_met_from_the_share_alone():
    pilot = _pilot()
    SuccessMetricFactory(
        pilot=pilot,
        question_key="incident",
        baseline=Decimal("0.5"),
        target=Decimal("0.8"),
        min_responses=5,
    )
    add_round(pilot, [{"incident": True} for _ in range(6)])
    [e] = evidence.metric_statuses(pilot)
    assert e.estimate == 1
    assert e.ci_low == pytest.approx(6 / (6 + sp.norm.ppf(0.975) ** 2))
    assert e.status == MetricStatus.INCONCLUSIVE


def test_a_mean_above_the_target_with_a_wide_interval_is_inconclusive_not_met():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    add_round(pilot, scores("quality", [1, 5, 5, 2, 5, 5]))
    [e] = evidence.metric_statuses(pilot)
    assert e.estimate > 3.5
    assert e.status == MetricStatus.INCONCLUSIVE
    assert e.enough_responses is True
    assert "contains the target" in e.reason


def test_a_metric_whose_whole_interval_misses_the_target_is_not_met():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("4"), min_responses=5)
    add_round(pilot, scores("quality", [2, 2, 3, 2, 3, 2, 2]))
    [e] = evidence.metric_statuses(pilot)
    assert e.status == MetricStatus.NOT_MET


def test_lower_is_better_metrics_are_judged_below_the_target():
    pilot = _pilot()
    SuccessMetricFactory(
        pilot=pilot,
        question_key="minutes_saved",
        direction="lower",
        baseline=Decimal("100"),
        target=Decimal("60"),
        min_responses=5,
    )
    add_round(pilot, scores("minutes_saved", [20, 25, 30, 22, 28, 26]))
    [e] = evidence.metric_statuses(pilot)
    assert e.status == MetricStatus.MET
    assert "below the target 60" in e.reason


def test_below_the_minimum_responses_a_metric_is_inconclusive_for_lack_of_answers():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, baseline=None, target=Decimal("2"), min_responses=20)
    add_round(pilot, scores("quality", [5, 5, 5, 5, 5, 5]))
    [e] = evidence.metric_statuses(pilot)
    assert (e.status, e.enough_responses, e.n) == (MetricStatus.INCONCLUSIVE, False, 6)


def test_only_the_last_three_closed_rounds_count():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    add_round(pilot, scores("quality", [1] * 10), weeks_ago=4)  # too old to count
    for weeks in (3, 2, 1):
        add_round(pilot, scores("quality", [5, 4, 5, 5, 4]), weeks_ago=weeks)
    add_round(pilot, scores("quality", [1] * 10), weeks_ago=0, closed=False)  # still open
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.rounds, e.status) == (15, 3, MetricStatus.MET)


def test_a_round_nobody_answered_does_not_push_an_answered_round_out_of_the_pool():
    """22 answers in the last three answered rounds stay 22 when an empty round closes."""
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    for weeks, n in ((4, 8), (3, 8), (2, 6)):
        add_round(pilot, scores("quality", [5, 4] * (n // 2)), weeks_ago=weeks)
    add_round(pilot, [], invited=10, weeks_ago=1)  # closed with no response
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.rounds) == (22, 3)
    # The pilot page (which also charts the empty round) judges on the same 22 answers.
    [on_page] = evidence.page_context(pilot)["metric_evaluations"]
    assert (on_page.n, on_page.rounds) == (22, 3)
    assert evidence.evidence_snapshot(pilot)["metrics"][0]["n"] == 22


def test_the_pilot_page_judges_on_three_answered_rounds_even_with_more_charted():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    add_round(pilot, scores("quality", [1] * 10), weeks_ago=5)  # charted, too old to judge
    for weeks in (3, 2, 1):
        add_round(pilot, scores("quality", [5, 4, 5, 5, 4]), weeks_ago=weeks)
    context = evidence.page_context(pilot)
    [e] = context["metric_evaluations"]
    assert (e.n, e.rounds, e.status) == (15, 3, MetricStatus.MET)
    assert len(context["evidence_rounds"]) == 4


def test_a_pilot_whose_rounds_nobody_answered_gets_no_recommendation():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot)
    add_round(pilot, [], invited=10, weeks_ago=1)
    assert evidence.page_context(pilot)["recommendation"] is None
    assert evidence.evidence_snapshot(pilot)["recommendation"] is None
    assert evidence.recommend([], 0, has_evidence=False) is None


def test_repeat_answers_of_the_same_people_count_once_in_the_interval():
    # Three rounds of the same six people: the pooled mean, but the interval of six answers.
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    answers = [3, 4, 4, 4, 5, 4]
    for weeks in (3, 2, 1):
        add_round(pilot, scores("quality", answers), weeks_ago=weeks)
    [e] = evidence.metric_statuses(pilot)
    pooled = answers * 3
    low, high = sp.t.interval(
        0.95, 5, loc=np.mean(pooled), scale=np.std(pooled, ddof=1) / np.sqrt(6)
    )
    assert (e.n, e.n_effective, e.estimate) == (18, 6, pytest.approx(4.0))
    assert (e.ci_low, e.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert e.status == MetricStatus.INCONCLUSIVE


def test_rounds_withheld_under_the_threshold_do_not_count(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=1)
    add_round(pilot, scores("quality", [5, 5, 5, 5]))
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.estimate) == (0, None)


def test_without_a_closed_round_a_metric_has_no_evidence():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot)
    [e] = evidence.metric_statuses(pilot)
    assert (e.status, e.enough_responses) == (MetricStatus.INCONCLUSIVE, False)


def test_the_recommendation_is_to_promote_when_every_metric_is_met():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.2"), min_responses=5)
    add_round(pilot, scores("quality", [5, 4, 5, 5, 4, 5]))
    advice = evidence.page_context(pilot)["recommendation"]
    assert advice.action == Recommendation.PROMOTE
    assert advice.reason.startswith("Promote:")


def test_the_recommendation_is_to_stop_when_a_metric_is_clearly_missed():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("4.5"), min_responses=5)
    add_round(pilot, scores("quality", [2, 3, 2, 3, 2, 3]))
    advice = evidence.page_context(pilot)["recommendation"]
    assert (advice.action, advice.reason.count(".")) == (Recommendation.STOP, 1)
    assert "Quality" in advice.reason


def test_an_open_breach_makes_the_recommendation_keep_going():
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.2"), min_responses=5)
    guardrail = MetricGuardrailFactory(pilot=pilot)  # before any answer: then frozen
    r = add_round(pilot, scores("quality", [5, 4, 5, 5, 4, 5]))
    GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, round=r, detail="Trust fell.")
    advice = evidence.page_context(pilot)["recommendation"]
    assert advice.action == Recommendation.KEEP_GOING
    assert "breach" in advice.reason


def test_hours_saved_scale_mean_minutes_by_cadence_and_participants():
    pilot = _pilot(cadence="weekly")
    for _ in range(4):
        ParticipationFactory(pilot=pilot)
    minutes = [60, 90, 120, 30, 60, 90]
    add_round(pilot, scores("minutes_saved", minutes))
    hours = evidence.page_context(pilot)["hours_saved"]
    scale = 52 / 12 * 4 / 60
    # Whole minutes from 0 are counts: the t interval, widened upwards to the count score
    # bound (skewed data), as the minutes' own interval is; then scaled.
    low = t_bounds(minutes)[0]
    high = count_score_bounds(minutes)[1]
    assert hours.estimate == pytest.approx(np.mean(minutes) * scale)
    assert (hours.ci_low, hours.ci_high) == (
        pytest.approx(low * scale),
        pytest.approx(high * scale),
    )
    assert hours.participants == 4


def test_a_pause_stores_the_evidence_snapshot_with_its_stage_change(ops):
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.2"), min_responses=5)
    add_round(pilot, scores("quality", [5, 4, 5, 5, 4, 5]), invited=6)
    change = lifecycle.move(
        pilot.pk, "pause", actor=ops, expected_stage="pilot", rationale="Holiday"
    )
    assert change.evidence["metrics"][0]["metric"] == "Quality"
    assert change.evidence["metrics"][0]["status"] == "met"
    assert change.evidence["recommendation"]["action"] == "promote"
    assert StageChange.objects.get(pk=change.pk).evidence == change.evidence


def test_a_promotion_stores_the_evidence_it_was_decided_on(ops2):
    pilot = _pilot(stage="sandbox", cadence="weekly")
    for _ in range(6):
        ParticipationFactory(pilot=pilot)
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.2"), min_responses=5)
    quality, minutes = [5, 4, 5, 5, 4, 5], [30, 60, 45, 30, 60, 45]
    r = add_round(
        pilot,
        [{"quality": q, "minutes_saved": m} for q, m in zip(quality, minutes, strict=True)],
        invited=6,
    )
    change = lifecycle.move(pilot.pk, "promote", actor=ops2, expected_stage="sandbox")
    assert (change.from_stage, change.to_stage) == ("sandbox", "pilot")
    low, high = sp.t.interval(0.95, 5, loc=np.mean(quality), scale=sp.sem(quality))
    [metric] = change.evidence["metrics"]
    assert metric["metric"] == "Quality"
    assert (metric["status"], metric["n"], metric["n_effective"]) == ("met", 6, 6)
    assert metric["estimate"] == pytest.approx(np.mean(quality))
    # The t interval, its top clipped to the scale's end (5.21 would be off the scale).
    assert high > 5
    assert metric["ci"] == [pytest.approx(low), 5.0]
    assert change.evidence["recommendation"]["action"] == "promote"
    assert change.evidence["rounds"] == [r.pk]
    assert (change.evidence["open_breaches"], change.evidence["open_breach_ids"]) == (0, [])
    hours = change.evidence["hours_saved_per_month"]
    assert hours["estimate"] == pytest.approx(np.mean(minutes) * 52 / 12 * 6 / 60)
    assert hours["participants"] == 6
    # Stored as decided: later evidence does not rewrite it.
    add_round(pilot, scores("quality", [1, 1, 1, 1, 1, 1]), weeks_ago=-1)
    assert StageChange.objects.get(pk=change.pk).evidence == change.evidence


def test_a_stop_stores_the_missed_metric_and_the_open_breach_it_was_decided_on(ops):
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("4.5"), min_responses=5)
    guardrail = MetricGuardrailFactory(pilot=pilot)  # before any answer: then frozen
    r = add_round(pilot, scores("quality", [2, 3, 2, 3, 2, 3]))
    breach = GuardrailBreach.objects.create(
        guardrail=guardrail, pilot=pilot, round=r, detail="Trust fell."
    )
    change = lifecycle.move(
        pilot.pk,
        "stop",
        actor=ops,
        expected_stage="pilot",
        rationale="Quality is too low.",
        conclusion=findings_for("pilot", "stop"),
    )
    assert (change.to_stage, change.rationale) == ("stopped", "Quality is too low.")
    [metric] = change.evidence["metrics"]
    assert (metric["metric"], metric["status"]) == ("Quality", "not_met")
    assert metric["ci"][1] < 4.5
    # The grounds are stored, not a sentence in the language of the Ops who clicked.
    assert change.evidence["recommendation"] == {
        "action": "stop",
        "grounds": "metrics_missed",
        "metrics": ["Quality"],
        "open_breaches": 1,
    }
    assert "Quality" in evidence.worded_snapshot(change.evidence)["recommendation"]["reason"]
    assert change.evidence["open_breach_ids"] == [breach.pk]
    assert StageChange.objects.get(pk=change.pk).evidence == change.evidence


def test_the_gate_to_approved_uses_the_same_statuses(ops):
    pilot = _pilot()
    SuccessMetricFactory(pilot=pilot, target=Decimal("4.5"), min_responses=5)
    add_round(pilot, scores("quality", [2, 3, 2, 3, 2, 3]))
    [gate] = [g for g in lifecycle.gates_for(pilot, "promote") if g.key.startswith("metric_")]
    assert gate.status == "failed"
    assert gate.detail == evidence.metric_statuses(pilot)[0].reason


def _page_queries(pilot) -> int:
    with CaptureQueriesContext(connection) as ctx:
        evidence.page_context(pilot)
    return len(ctx)


def test_the_evidence_section_takes_the_same_queries_at_2_and_50_rounds():
    small, big = _pilot(), _pilot()
    for p in (small, big):
        SuccessMetricFactory(pilot=p, min_responses=5)
        SuccessMetricFactory(pilot=p, question_key="trust", min_responses=5)
        MetricGuardrailFactory(pilot=p)
    for pilot, count in ((small, 2), (big, 50)):
        for weeks in range(count):
            r = add_round(pilot, scores("quality", [4, 5, 3, 4, 5]), weeks_ago=weeks)
            guardrails.evaluate_round(r.pk)  # a guardrail check per round
    # Queries: closed rounds, metrics, open breaches, participants, guardrails, latest checks,
    # the rounds' questions.
    assert _page_queries(small) == _page_queries(big) == 7


def test_the_portfolio_adds_hours_by_stage_and_by_team():
    support, finance = TeamFactory(name="Support"), TeamFactory(name="Finance")
    pilots = []
    for team, stage in ((support, "pilot"), (support, "sandbox"), (finance, "pilot")):
        p = _pilot(team=team, stage=stage, cadence="monthly")
        ParticipationFactory(pilot=p)
        add_round(p, scores("minutes_saved", [60, 120, 60, 120, 90]))
        pilots.append(p)
    context = evidence.portfolio_context(type(pilots[0]).objects.all())
    by_stage = {r["key"]: r for r in context["hours_by_stage"]}
    assert by_stage["pilot"]["hours"] == pytest.approx(2 * 90 / 60)
    assert by_stage["pilot"]["pilots"] == 2
    assert by_stage["sandbox"]["hours"] == pytest.approx(90 / 60)
    by_team = {r["key"]: r for r in context["hours_by_team"]}
    assert by_team["Support"]["hours"] == pytest.approx(2 * 90 / 60)


def test_the_portfolio_counts_pilots_per_stage_at_each_month_end(ops, ops2, lead):
    start = timezone.make_aware(datetime.datetime(2026, 1, 10, 12))
    with time_machine.travel(start, tick=False):
        pilot = PilotFactory(complete=True, lead=lead)  # draft in January
    with time_machine.travel(start + datetime.timedelta(days=31), tick=False):
        lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    with time_machine.travel(start + datetime.timedelta(days=62), tick=False):
        lifecycle.move(pilot.pk, "approve", actor=ops, expected_stage="proposed")
    with time_machine.travel(start + datetime.timedelta(days=150), tick=False):
        context = evidence.portfolio_context(type(pilot).objects.all())
    history = context["stage_history"]
    assert history["months"] == [datetime.date(2026, m, 1) for m in range(1, 7)]
    counts = {s["key"]: s["counts"] for s in history["stages"]}
    assert counts["draft"] == [1, 0, 0, 0, 0, 0]
    assert counts["proposed"] == [0, 1, 0, 0, 0, 0]
    assert counts["sandbox"] == [0, 0, 1, 1, 1, 1]
    assert 'role="img"' in context["stage_history_chart"]


def test_the_portfolio_takes_the_same_queries_for_2_and_20_pilots():
    def queries(n):
        for _ in range(n):
            p = _pilot()
            ParticipationFactory(pilot=p)
            add_round(p, scores("minutes_saved", [60, 120, 60, 120, 90]))
        with CaptureQueriesContext(connection) as ctx:
            evidence.portfolio_context(type(p).objects.all())
        return len(ctx)

    # Queries: hours saved per stage and team (pooled at close), pilots per stage at each
    # month end.
    assert queries(2) == queries(18) == 2


def test_a_pilot_never_moved_counts_in_its_current_stage_since_it_was_created():
    start = timezone.make_aware(datetime.datetime(2026, 3, 10, 12))
    with time_machine.travel(start, tick=False):
        pilot = PilotFactory(stage="sandbox")
    with time_machine.travel(start + datetime.timedelta(days=40), tick=False):
        history = evidence.portfolio_context(type(pilot).objects.all())["stage_history"]
    assert history["months"][-2:] == [datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)]
    assert {s["key"]: s["counts"] for s in history["stages"]} == {"sandbox": [0, 0, 0, 0, 1, 1]}
