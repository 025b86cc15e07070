"""Evidence shapes mutation testing found unbuilt (`make mutation`): an interval ending exactly
on the target, more rounds than the last RECENT_ROUNDS; the portfolio's intervals, costs and
month ends; every sentence a metric, a distance or a recommendation is worded with; stored
snapshots as read back; the distance to a decision at its edges. (A single answer never reaches
the evidence: the anonymity threshold hides it; tests/feedback/test_stats_edges.py pools one.)"""

import datetime
import math
from decimal import Decimal

import numpy as np
import pytest
import time_machine
from django.utils import timezone

from decisions import evidence
from decisions.evidence import RECENT_ROUNDS, MetricStatus
from pilots import lifecycle
from pilots.models import Pilot
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    AIToolFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    TeamFactory,
)

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


# ---------------------------------------------------------------------------------------------
# The portfolio: hours, intervals and costs per stage and team, pilots per stage by month


def _saving_pilot(*, team, stage, cadence, participants, minutes, tool=None):
    pilot = PilotFactory(stage=stage, team=team, cadence=cadence, tool=tool or AIToolFactory())
    for _ in range(participants):
        ParticipationFactory(pilot=pilot)
    add_round(pilot, scores("minutes_saved", minutes))
    return pilot


def _page_hours(pilot) -> evidence.HoursSaved:
    """The pilot page's hours saved per month (what the portfolio adds up)."""
    rounds = list(pilot.rounds.closed().order_by("-period_start"))
    return evidence.hours_saved(pilot, rounds, pilot.participations.count())


def test_the_portfolio_adds_each_pilots_own_hours_interval_and_tool_cost(settings):
    settings.COST_CURRENCY = "CHF"
    support, finance = TeamFactory(name="Support"), TeamFactory(name="Finance")
    weekly = _saving_pilot(
        team=support, stage="pilot", cadence="weekly", participants=2,
        minutes=[30, 45, 60, 30, 45],
        tool=AIToolFactory(cost_model="per_seat", cost_amount=Decimal("20")),
    )  # fmt: skip
    biweekly = _saving_pilot(
        team=support, stage="pilot", cadence="biweekly", participants=3,
        minutes=[60, 120, 60, 120, 90],
        tool=AIToolFactory(cost_model="flat", cost_amount=Decimal("100")),
    )  # fmt: skip
    # Another team's pilot, outside the pilots asked for: it adds nothing.
    _saving_pilot(team=finance, stage="pilot", cadence="weekly", participants=4, minutes=[600] * 5)

    context = evidence.portfolio_context(Pilot.objects.filter(team=support))

    first, second = _page_hours(weekly), _page_hours(biweekly)
    hours = first.estimate + second.estimate
    half = math.hypot((first.ci_high - first.ci_low) / 2, (second.ci_high - second.ci_low) / 2)
    cost = 2 * 20 + 100
    [stage] = context["hours_by_stage"]
    [team] = context["hours_by_team"]
    assert (stage["key"], stage["label"], team["key"], team["label"]) == (
        "pilot",
        "Pilot",
        "Support",
        "Support",
    )
    for row in (stage, team):
        assert row["pilots"] == 2
        assert row["hours"] == pytest.approx(hours)
        assert (row["ci_low"], row["ci_high"]) == (
            pytest.approx(hours - half),
            pytest.approx(hours + half),
        )
        assert row["cost"] == cost
        per_hour = row["cost_per_hour"]
        assert (per_hour.estimate, per_hour.ci_low, per_hour.ci_high) == (
            pytest.approx(cost / hours),
            pytest.approx(cost / (hours + half)),
            pytest.approx(cost / (hours - half)),
        )
    assert context["cost_currency"] == "CHF"


def test_a_group_with_a_pilot_without_interval_or_known_cost_shows_neither():
    finance = TeamFactory(name="Finance")
    known = _saving_pilot(
        team=finance, stage="sandbox", cadence="monthly", participants=1,
        minutes=[60, 120, 60, 120, 90],
        tool=AIToolFactory(cost_model="flat", cost_amount=Decimal("50")),
    )  # fmt: skip
    unknown = _saving_pilot(
        team=finance, stage="sandbox", cadence="monthly", participants=1,
        minutes=[30, 60, 30, 60, 45],
        tool=AIToolFactory(cost_model="flat", cost_amount=None),
    )  # fmt: skip
    # Its stored minutes have no interval (none could be drawn when the round closed).
    PooledMinutes = type(unknown.pooled_minutes)
    PooledMinutes.objects.filter(pilot=unknown).update(ci_low=None, ci_high=None)

    context = evidence.portfolio_context(Pilot.objects.all())

    [row] = context["hours_by_stage"]
    assert row["hours"] == pytest.approx(_page_hours(known).estimate + 45 / 60)
    assert (row["ci_low"], row["ci_high"], row["cost"]) == (None, None, None)
    assert row["cost_per_hour"].estimate is None


def test_a_pilot_without_participants_saves_no_hours_in_the_portfolio():
    _saving_pilot(
        team=TeamFactory(name="Legal"), stage="sandbox", cadence="monthly", participants=0,
        minutes=[60, 120, 60, 120, 90],
    )  # fmt: skip
    [row] = evidence.portfolio_context(Pilot.objects.all())["hours_by_stage"]
    assert (row["pilots"], row["hours"]) == (1, 0)


def test_pilots_of_a_stage_are_counted_together_whether_they_moved_there_or_began_there(ops, lead):
    start = timezone.make_aware(datetime.datetime(2026, 1, 10, 12))
    with time_machine.travel(start, tick=False):
        moved = PilotFactory(complete=True, lead=lead)
        PilotFactory(stage="proposed")  # never moved: counted where it is
    with time_machine.travel(start + datetime.timedelta(days=5), tick=False):
        lifecycle.move(moved.pk, "submit", actor=lead, expected_stage="draft")
    with time_machine.travel(start + datetime.timedelta(days=40), tick=False):
        history = evidence.portfolio_context(Pilot.objects.all())["stage_history"]
    assert {s["key"]: (s["label"], s["counts"]) for s in history["stages"]} == {
        "proposed": ("Proposed", [0, 0, 0, 0, 2, 2])
    }


def test_a_move_just_after_midnight_on_the_first_of_a_month_counts_in_the_new_month(ops, lead):
    # The month's end is local midnight exactly, whatever the time of day the portfolio is read.
    start = timezone.make_aware(datetime.datetime(2026, 1, 10, 12))
    with time_machine.travel(start, tick=False):
        pilot = PilotFactory(complete=True, lead=lead)
    first_of_march = timezone.make_aware(datetime.datetime(2026, 3, 1, 0, 0, 0, 1))
    with time_machine.travel(first_of_march, tick=False):
        lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    read_at = timezone.make_aware(datetime.datetime(2026, 4, 17, 15, 42, 37, 123456))
    with time_machine.travel(read_at, tick=False):
        history = evidence.portfolio_context(Pilot.objects.all())["stage_history"]
    assert history["months"] == [datetime.date(2025, 11 + m, 1) for m in range(2)] + [
        datetime.date(2026, m, 1) for m in range(1, 5)
    ]
    counts = {s["key"]: s["counts"] for s in history["stages"]}
    # At the end of February (March 1st, 00:00) it was still a draft.
    assert counts == {"draft": [0, 0, 1, 1, 0, 0], "proposed": [0, 0, 0, 0, 1, 1]}


# ---------------------------------------------------------------------------------------------
# Stored snapshots, worded when read; the gate of a pilot without metrics


def test_a_decisions_history_shows_each_move_with_its_evidence_worded_with_labels(ops):
    from tests.factories import MetricGuardrailFactory

    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.2"), min_responses=5)
    guardrail = MetricGuardrailFactory(pilot=pilot, description="Trust stays at 3 or above.")
    add_round(pilot, [{"quality": 5, "trust": 4}, {"quality": 4, "trust": 5}] * 3)
    from decisions import guardrails

    guardrails.evaluate_round(pilot.rounds.get().pk)  # the trust guardrail holds
    change = lifecycle.move(pilot.pk, "pause", actor=ops, expected_stage="pilot", rationale="x")

    [row] = evidence.decision_rows([change])

    assert row["change"] == change
    worded = row["evidence"]
    [metric] = worded["metrics"]
    assert (metric["metric"], metric["status_label"]) == ("Quality", "Met")
    assert metric["enough_responses"] is True
    assert metric["reason"].startswith("The whole 95% interval")
    assert worded["guardrails"] == [
        {
            "id": guardrail.pk,
            "description": "Trust stays at 3 or above.",
            "status": "holding",
            "status_label": "holding",
        }
    ]
    assert (worded["recommendation"]["action"], worded["recommendation"]["label"]) == (
        "promote",
        "Promote",
    )
    assert worded["recommendation"]["reason"].startswith("Promote: every success metric")
    # Worded for reading only: the stored snapshot keeps its data.
    assert "status_label" not in change.evidence["metrics"][0]


def test_a_snapshot_with_statuses_no_longer_known_shows_them_as_stored():
    snapshot = {
        "version": 2,
        "metrics": [
            {"metric": "Quality", "status": "withdrawn", "rounds": 0},
            {"metric": "Speed", "rounds": 0},
        ],
        "guardrails": [
            {"id": 1, "description": "No leaks.", "status": "suspended"},
            {"id": 2, "description": "Trust."},
        ],
        "recommendation": {"action": "escalate", "grounds": "other", "reason": "Ask legal."},
    }
    worded = evidence.worded_snapshot(snapshot)
    assert [m["status_label"] for m in worded["metrics"]] == ["withdrawn", ""]
    assert [g["status_label"] for g in worded["guardrails"]] == ["suspended", ""]
    # A known status is worded with its label, not shown as stored.
    [unchecked] = evidence.worded_snapshot(
        {"guardrails": [{"id": 3, "description": "Trust.", "status": "not_evaluated"}]}
    )["guardrails"]
    assert unchecked["status_label"] == "not evaluated"
    assert (worded["recommendation"]["label"], worded["recommendation"]["reason"]) == (
        "escalate",
        "Ask legal.",
    )
    without_action = evidence.worded_snapshot({"recommendation": {"reason": "Old."}})
    assert without_action["recommendation"]["label"] == ""
    assert (without_action["metrics"], without_action["guardrails"]) == ([], [])


def test_a_pilot_without_success_metrics_fails_the_metrics_criterion_and_says_why():
    pilot = PilotFactory(stage="pilot")
    [result] = evidence.metrics_met(pilot)
    assert (result.key, result.label, result.status, result.detail) == (
        "metrics",
        "Success metrics",
        "failed",
        "The pilot has no success metric.",
    )


# ---------------------------------------------------------------------------------------------
# Every sentence a metric or a recommendation is worded with, as a reader sees it

METRIC = {
    "metric": "Quality",
    "question": "quality",
    "target": 3.2,
    "direction": "higher",
    "min_responses": 5,
    "enough_responses": True,
    "n": 10,
    "n_effective": 10,
    "rounds": 2,
    "to_decide": None,
}


@pytest.mark.parametrize(
    ("figures", "sentence"),
    [
        ({"rounds": 0, "n": 0, "status": "inconclusive", "ci": [None, None]},
         "No feedback round with answers has closed yet."),
        ({"n": 3, "status": "inconclusive", "ci": [None, None]},
         "3 answers over the last 2 closed round(s); 5 are needed to judge it."),
        ({"status": "met", "ci": [3.25, 4.5]},
         "The whole 95% interval (3.25 to 4.5) is above the target 3.2."),
        ({"status": "met", "direction": "lower", "ci": [2.0, 3.0]},
         "The whole 95% interval (2 to 3) is below the target 3.2."),
        ({"status": "not_met", "ci": [2.5, 3.1]},
         "The whole 95% interval (2.5 to 3.1) is below the target 3.2."),
        ({"status": "not_met", "direction": "lower", "ci": [3.4, 4.0]},
         "The whole 95% interval (3.4 to 4) is above the target 3.2."),
        ({"status": "inconclusive", "ci": [None, None]}, "Too few answers to draw an interval."),
        ({"status": "inconclusive", "ci": [2.9, 4.3]},
         "The 95% interval (2.9 to 4.3) contains the target 3.2: more answers are needed to "
         "tell."),
    ],
)  # fmt: skip
def test_each_metric_status_is_worded_in_full_with_its_figures(figures, sentence):
    data = {**METRIC, **figures}
    assert evidence.metric_reason(data) == sentence
    [worded] = evidence.worded_snapshot({"version": 2, "metrics": [data]})["metrics"]
    assert worded["reason"] == sentence


def test_a_metric_snapshot_from_before_figures_were_stored_keeps_its_sentence():
    assert evidence.metric_reason({"metric": "Quality", "reason": "Stored words."}) == (
        "Stored words."
    )
    assert evidence.metric_reason({"metric": "Quality"}) == ""


@pytest.mark.parametrize(
    ("advice", "sentence"),
    [
        ({"grounds": "metrics_missed", "metrics": ["Quality", "Speed"]},
         "Stop: Quality, Speed clearly missed the target with 95% confidence."),
        ({"grounds": "breaches_open", "open_breaches": 2},
         "Keep going: 2 open guardrail breach(es) must be resolved before any promotion."),
        ({"grounds": "breaches_open"},
         "Keep going: 0 open guardrail breach(es) must be resolved before any promotion."),
        ({"grounds": "no_metrics"},
         "Keep going: the pilot has no success metric to judge it by."),
        ({"grounds": "all_met"},
         "Promote: every success metric beats its target with 95% confidence and no guardrail "
         "is broken."),
        ({"grounds": "too_few_answers", "metrics": ["Quality", "Speed"]},
         "Keep going: Quality, Speed still lack(s) enough answers to be judged."),
        ({"grounds": "straddling", "metrics": ["Quality"]},
         "Keep going: the interval of Quality still straddles its target."),
        # Recorded before version 2: the sentence itself, as stored.
        ({"action": "stop", "reason": "Stop: it failed."}, "Stop: it failed."),
        ({"action": "stop"}, ""),
    ],
)  # fmt: skip
def test_each_recommendation_is_worded_in_full_from_its_grounds(advice, sentence):
    assert evidence.recommendation_reason(advice) == sentence


@pytest.mark.parametrize(
    ("to_decide", "sentence"),
    [
        ({"need": "spread", "answers": 4, "round_size": 14, "per_round": 10},
         "At the current estimate and spread, a decision needs about 14 answers in a round, 4 "
         "more than the largest recent round; more rounds of the same people do not narrow the "
         "interval."),
        ({"need": "answers", "answers": 3, "rounds": 2, "per_round": 4},
         "About 3 more answers are needed to judge it: about 2 more round(s) at 4 answers per "
         "round."),
        ({"need": "answers", "answers": 7, "rounds": None, "per_round": 3},
         "About 7 more answers are needed to judge it; rounds of about 3 answers never reach 5 "
         "over the last 3 rounds, so more people need to answer."),
        ({"need": "answers", "answers": 5, "rounds": None, "per_round": None},
         "About 5 more answers are needed to judge it."),
    ],
)  # fmt: skip
def test_each_distance_to_a_decision_is_worded_in_full(to_decide, sentence):
    data = {**METRIC, "status": "inconclusive", "to_decide": to_decide}
    assert evidence.to_decide_reason(data) == sentence


# ---------------------------------------------------------------------------------------------
# How far an inconclusive metric is from a decision, at the edges


@pytest.mark.parametrize(
    ("answers", "minimum", "missing", "rounds"),
    [
        ([4, 4, 5, 4], 5, 1, 1),  # one answer short: one more round of four does it
        ([4, 4, 5, 4], 8, 4, 1),  # a round of four more reaches eight exactly
        ([4, 4, 5, 4], 12, 8, 2),  # two more rounds of four: twelve in the last three
    ],
)
def test_too_few_answers_say_how_many_are_missing_and_the_rounds_that_take(
    settings, answers, minimum, missing, rounds
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=minimum)
    add_round(pilot, scores("quality", answers))
    [e] = evidence.metric_statuses(pilot)
    assert (e.status, e.n) == (MetricStatus.INCONCLUSIVE, len(answers))
    assert (e.to_decide.need, e.to_decide.answers, e.to_decide.per_round) == (
        "answers",
        missing,
        len(answers),
    )
    assert e.to_decide.rounds == rounds


def test_a_round_one_answer_short_of_leaving_the_target_asks_for_one_more():
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, baseline=None, target=Decimal("1.7"), min_responses=5)
    add_round(pilot, scores("quality", [1, 1, 1, 1, 2]))  # 1.2, interval 1 to 1.76
    [e] = evidence.metric_statuses(pilot)
    assert e.status == MetricStatus.INCONCLUSIVE
    assert (e.to_decide.answers, e.to_decide.round_size) == (1, 6)


def test_an_estimate_above_its_target_is_measured_from_the_interval_side_facing_the_target():
    # Mean 2.5, interval 1 (the scale's end) to 4.57: the side facing a target of 1 is cut at
    # the scale's end, so this spread leaves the target with the round's own size; the answer
    # is still one more than the largest round, never zero.
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, baseline=None, target=Decimal("1"), min_responses=5)
    add_round(pilot, scores("quality", [1, 1, 1, 2, 5, 5]))
    [e] = evidence.metric_statuses(pilot)
    assert (e.status, e.ci_low) == (MetricStatus.INCONCLUSIVE, 1)
    assert (e.to_decide.answers, e.to_decide.round_size) == (1, 7)


def test_the_results_table_of_the_api_is_the_pilot_pages():
    from tests.factories import MetricGuardrailFactory

    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, name="Quality", target=Decimal("3.2"), min_responses=5)
    holding = MetricGuardrailFactory(pilot=pilot)
    broken = MetricGuardrailFactory(pilot=pilot, question_key="quality")
    r = add_round(pilot, [{"quality": 5, "trust": 4}, {"quality": 4, "trust": 5}] * 3)
    from decisions import guardrails
    from pilots.models import GuardrailBreach

    guardrails.evaluate_round(r.pk)
    GuardrailBreach.objects.create(guardrail=broken, pilot=pilot, round=r, detail="Broke.")

    table = evidence.results_at_a_glance(pilot)

    assert table == evidence.page_context(pilot)["results_table"]
    statuses = {row.key: row.status for row in table["rows"]}
    assert statuses == {
        f"metric-{pilot.metrics.get().pk}": "met",
        f"guardrail-{holding.pk}": "holding",
        f"guardrail-{broken.pk}": "broken",
    }


# ---------------------------------------------------------------------------------------------
# The pilot page: its recommendation, guardrail rows, hours, charts and round rows


def _advice_on_the_page(pilot) -> evidence.Advice:
    return evidence.page_context(pilot)["recommendation"]


def _metrics_pilot(*, short: bool):
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(
        pilot=pilot, name="Met", baseline=None, target=Decimal("2"), min_responses=5
    )
    SuccessMetricFactory(
        pilot=pilot, name="Straddling", question_key="trust", target=Decimal("3.5"),
        min_responses=5,
    )  # fmt: skip
    if short:
        SuccessMetricFactory(
            pilot=pilot, name="Short", question_key="recommend", baseline=None,
            target=Decimal("7"), min_responses=50,
        )  # fmt: skip
    trust = [3, 4, 5, 3, 4, 2, 5, 4, 3, 3]  # mean 3.6, its interval straddles 3.5
    add_round(pilot, [{"quality": 5, "trust": t, "recommend": 9} for t in trust])
    return pilot


def test_keep_going_names_the_metrics_short_of_answers_before_those_straddling():
    advice = _advice_on_the_page(_metrics_pilot(short=True))
    assert (advice.action, advice.grounds, advice.metrics) == (
        "keep_going",
        "too_few_answers",
        ("Short",),
    )
    assert advice.reason == "Keep going: Short still lack(s) enough answers to be judged."

    advice = _advice_on_the_page(_metrics_pilot(short=False))
    assert (advice.action, advice.grounds, advice.metrics) == (
        "keep_going",
        "straddling",
        ("Straddling",),
    )
    assert advice.reason == "Keep going: the interval of Straddling still straddles its target."


def test_keep_going_counts_the_open_breaches_and_a_pilot_without_metrics_says_so():
    from pilots.models import GuardrailBreach
    from tests.factories import GuardrailFactory

    quiet = PilotFactory(stage="pilot")
    add_round(quiet, scores("quality", [4, 5, 4, 5, 4]))
    advice = _advice_on_the_page(quiet)
    assert (advice.action, advice.grounds, advice.label) == (
        "keep_going",
        "no_metrics",
        "Keep going",
    )
    assert advice.reason == "Keep going: the pilot has no success metric to judge it by."

    pilot = PilotFactory(stage="pilot")
    rules = [GuardrailFactory(pilot=pilot, forbids_data_exposure=True) for _ in range(2)]
    r = add_round(pilot, scores("quality", [4, 5, 4, 5, 4]))
    for rule in rules:
        GuardrailBreach.objects.create(guardrail=rule, pilot=pilot, round=r, detail="Broke.")
    advice = _advice_on_the_page(pilot)
    assert (advice.grounds, advice.open_breaches) == ("breaches_open", 2)
    assert advice.reason == (
        "Keep going: 2 open guardrail breach(es) must be resolved before any promotion."
    )


def test_the_guardrail_rows_say_what_the_newest_checked_round_saw_and_what_is_broken(ops):
    from decisions import guardrails
    from pilots.models import GuardrailBreach
    from tests.factories import GuardrailFactory, MetricGuardrailFactory

    pilot = PilotFactory(stage="pilot")
    policy = GuardrailFactory(pilot=pilot, description="A human reviews every output.")
    trust = MetricGuardrailFactory(pilot=pilot, action="flag")  # trust ≥ 3
    exposure = GuardrailFactory(pilot=pilot, forbids_data_exposure=True)
    leaked = GuardrailFactory(pilot=pilot, forbids_data_exposure=True, description="No leaks.")
    older = add_round(pilot, scores("trust", [1, 2, 1, 2, 1]), weeks_ago=1)
    newer = add_round(pilot, scores("trust", [4, 4, 5, 4, 3]))
    # Evaluated newest first (the older round's evaluation ran late): the newest still decides.
    guardrails.evaluate_round(newer.pk)
    [breach] = guardrails.evaluate_round(older.pk)
    guardrails.resolve_breach(breach.pk, actor=ops, note="Trust is back.")
    GuardrailBreach.objects.create(
        guardrail=leaked, pilot=pilot, round=newer, trigger="exposure", detail="Leaked."
    )

    rows = {r["guardrail"]: r["status"] for r in evidence.page_context(pilot)["guardrail_rows"]}

    assert rows[policy] is None  # a policy rule no system checks
    assert rows[trust] == evidence.GuardrailStatus("holding", "holding", 4.0)
    assert rows[exposure] == evidence.GuardrailStatus("holding", "holding", None)
    assert rows[leaked] == evidence.GuardrailStatus("broken", "broken", None)


def test_hours_saved_over_rounds_of_the_same_people_are_as_uncertain_as_the_largest_round():
    from feedback import stats
    from feedback.results import summary_of

    pilot = PilotFactory(stage="pilot", cadence="weekly")
    for _ in range(3):
        ParticipationFactory(pilot=pilot)
    minutes = [30, 60, 45, 30, 60]
    rounds = [add_round(pilot, scores("minutes_saved", minutes), weeks_ago=w) for w in (1, 0)]
    hours = evidence.page_context(pilot)["hours_saved"]
    scale = 52 / 12 * 3 / 60
    pooled = stats.pool([summary_of(r.results, "minutes_saved") for r in rounds])
    five = stats.interval(pooled, n_eff=5)  # the largest round, not the ten answers
    assert five != stats.interval(pooled)
    assert (hours.n, hours.participants, hours.periods_per_month) == (10, 3, 52 / 12)
    assert hours.estimate == pytest.approx(np.mean(minutes) * scale)
    assert (hours.ci_low, hours.ci_high) == (
        pytest.approx(five.low * scale),
        pytest.approx(five.high * scale),
    )


def test_hours_saved_without_minutes_answered_say_nothing_but_the_participants():
    pilot = PilotFactory(stage="pilot", cadence="biweekly")
    for _ in range(2):
        ParticipationFactory(pilot=pilot)
    add_round(pilot, scores("quality", [4, 5, 4, 5, 4]))
    hours = evidence.page_context(pilot)["hours_saved"]
    assert hours == evidence.HoursSaved(None, None, None, 0, 2, 26 / 12)


def test_the_pilot_page_charts_each_metric_the_response_rate_and_each_question():
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, target=Decimal("3.2"), min_responses=5)
    rounds = [
        add_round(pilot, scores("quality", [4, 5, 4, 5, 4]), invited=8, weeks_ago=w)
        for w in (2, 1, 0)
    ]
    context = evidence.page_context(pilot, chart_rounds=2)
    # Only the last chart_rounds rounds are charted (and tabled), newest first.
    assert context["evidence_rounds"] == rounds[:0:-1]
    assert [row["round"] for row in context["round_rows"]] == rounds[:0:-1]
    assert context["evidence_pilot"] == pilot
    [chart] = context["metric_charts"]
    assert chart["metric"] == metric and "<svg" in chart["svg"]
    assert "<svg" in context["response_rate_chart"]
    charted = {c["trend"].key: c["svg"] for c in context["question_charts"]}
    assert "<svg" in charted["quality"]
    assert context["results_table"]["rows"][0].key == f"metric-{metric.pk}"


def test_a_round_row_shows_its_stored_figures_in_the_readers_words():
    from django.utils import translation

    from feedback.models import Question

    pilot = PilotFactory(stage="pilot")
    answers = [
        {"quality": q, "comment": "Fine.", "incident": True, "incident_kind": kind}
        for q, kind in [(4, "confidential_data_exposed"), (5, "other")] * 3
    ]
    r = add_round(pilot, answers, invited=8)
    Question.objects.filter(key="quality").update(translations={"fr": {"text": "Qualité ?"}})
    Question.objects.filter(key="incident_kind").update(
        translations={"fr": {"choices": {"confidential_data_exposed": "Données exposées"}}}
    )

    with translation.override("fr"):
        [row] = evidence.page_context(pilot)["round_rows"]

    stored = r.results
    assert (row["round"], row["responses"], row["invited"], row["shown"]) == (r, 6, 8, True)
    assert row["response_rate"] == stored["response_rate"] == pytest.approx(6 / 8)
    by_key = {q["key"]: q for q in row["questions"]}
    assert by_key["quality"]["text"] == "Qualité ?"
    assert "comment" not in by_key  # a text question: counted, not charted
    assert "comment" in {q["key"] for q in row["all_questions"]}
    assert row["comments"] == stored["comments"] and stored["comments"]
    kinds = {value: label for value, label, _count in row["incidents"]["by_kind"]}
    assert kinds["confidential_data_exposed"] == "Données exposées"


def test_a_round_closed_without_stored_results_shows_its_counts_and_nothing_else():
    pilot = PilotFactory(stage="pilot")
    r = add_round(pilot, scores("quality", [4, 5, 4, 5, 4]), invited=9, compute=False)
    [row] = evidence.round_rows([r])
    assert row == {
        "round": r,
        "responses": 5,
        "invited": 9,
        "response_rate": None,
        "shown": False,
        "questions": [],
        "all_questions": [],
        "incidents": None,
        "comments": [],
    }


def test_a_round_withheld_under_the_threshold_adds_nothing_to_what_a_metric_lacks():
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=20)
    add_round(pilot, scores("quality", [4, 5, 4, 5, 4, 5]), weeks_ago=1)
    add_round(pilot, scores("quality", [4, 5]))  # below the threshold of 5: withheld
    [e] = evidence.metric_statuses(pilot)
    assert (e.n, e.rounds) == (6, 2)
    assert (e.to_decide.answers, e.to_decide.per_round) == (14, 6)


def test_a_round_of_a_single_answer_is_one_of_the_last_three_on_the_page_as_in_a_decision(ops):
    pilot = PilotFactory(stage="pilot")
    SuccessMetricFactory(pilot=pilot, target=Decimal("3.5"), min_responses=5)
    for weeks in (3, 2, 1):
        add_round(pilot, scores("quality", [4, 5, 4, 5, 4]), weeks_ago=weeks)
    add_round(pilot, scores("quality", [5]))  # answered, withheld
    [on_page] = evidence.page_context(pilot)["metric_evaluations"]
    [decided] = evidence.evidence_snapshot(pilot)["metrics"]
    assert (on_page.n, on_page.rounds) == (decided["n"], decided["rounds"]) == (10, 3)
