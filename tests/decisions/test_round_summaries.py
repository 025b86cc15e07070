"""The question summary rows written at close, their backfill, and the portfolio pooled from them.

The rows must say exactly what the stored results say (nothing for a round or question below
the anonymity threshold), and the portfolio's hours saved must be the figures pooled from the
stored results as before (stats.pool over each pilot's last three answered rounds).
"""

from __future__ import annotations

import datetime
import importlib
import statistics
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from decisions import evidence
from decisions.evidence import MINUTES_KEY, PERIODS_PER_MONTH, RECENT_ROUNDS
from feedback import answering, scheduling, stats
from feedback.models import FeedbackRound, PilotMinutesSaved, RoundQuestionSummary
from feedback.results import summary_of
from pilots.models import Pilot, StageChange
from tests.decisions.evidence_support import add_round, scores
from tests.factories import ParticipationFactory, PilotFactory, TeamFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

backfill_migration = importlib.import_module(
    "feedback.migrations.0013_backfill_round_question_summaries"
)


def rows_of(round_: FeedbackRound) -> dict[str, stats.Summary]:
    """The round's summary rows, read back as the Summary the portfolio pools."""
    out = {}
    for row in RoundQuestionSummary.objects.filter(round=round_):
        grid = (
            stats.Grid(
                step=row.step, minimum=row.min_value, maximum=row.max_value, counts=row.counts
            )
            if row.step is not None
            else None
        )
        out[row.key] = stats.Summary(row.n, row.mean, row.sd, row.proportion, grid)
    return out


def stored_summaries(round_: FeedbackRound) -> dict[str, stats.Summary]:
    """What the stored JSON results say of each question (feedback.results.summary_of)."""
    round_.refresh_from_db()
    keys = {e["key"] for e in (round_.results or {}).get("questions", [])}
    found = {key: summary_of(round_.results, key) for key in keys}
    return {key: s for key, s in found.items() if s is not None}


@pytest.mark.parametrize("answers", [0, 1, 2, 7])
def test_closing_a_round_writes_the_summaries_its_stored_results_show(answers, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    minutes = [10 * (i + 1) for i in range(answers)]
    for value in minutes:
        _prompt, token = prompt_with_token(feedback_round, UserFactory())

        answering.submit_response(
            token=token, answers={**GOOD_ANSWERS, "minutes_saved": str(value)}
        )
    scheduling.close_round(feedback_round.pk)

    assert rows_of(feedback_round) == stored_summaries(feedback_round)
    if answers < 5:
        # Below the threshold the stored results show no question: no row says anything.
        assert not RoundQuestionSummary.objects.filter(round=feedback_round).exists()
    else:
        row = RoundQuestionSummary.objects.get(round=feedback_round, key=MINUTES_KEY)
        assert (row.n, row.mean, row.sd) == (
            answers,
            pytest.approx(statistics.mean(minutes)),
            pytest.approx(statistics.stdev(minutes)),
        )
        incident = RoundQuestionSummary.objects.get(round=feedback_round, key="incident")
        assert incident.proportion and incident.mean == 0


def test_a_question_below_the_threshold_in_a_shown_round_has_no_row(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    answers = [{"quality": 4}] * 4 + [{"quality": 5, "minutes_saved": 30}] * 2
    round_ = add_round(pilot, answers)

    entry = next(e for e in round_.results["questions"] if e["key"] == MINUTES_KEY)
    assert entry["shown"] is False
    assert set(rows_of(round_)) == {"quality"}
    assert rows_of(round_) == stored_summaries(round_)


def test_the_backfill_writes_the_rows_close_writes(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    rounds = [
        add_round(pilot, scores(MINUTES_KEY, [30, 45, 90]), weeks_ago=3),
        add_round(pilot, [{"minutes_saved": 15, "incident": True}] * 4, weeks_ago=2),
        add_round(pilot, [{"quality": 3}] * 3 + [{"minutes_saved": 5}], weeks_ago=1),
        add_round(pilot, [], weeks_ago=0),
    ]
    written = {r.pk: rows_of(r) for r in rounds}
    RoundQuestionSummary.objects.all().delete()

    backfill_migration.backfill(apps, None)

    assert {r.pk: rows_of(r) for r in rounds} == written
    assert {r.pk: stored_summaries(r) for r in rounds} == written
    # Minutes; minutes and incident; quality (minutes withheld); none.
    assert RoundQuestionSummary.objects.count() == 4


def _expected_hours(pilots) -> dict[str, tuple[float, float | None, float | None]]:
    """Hours by team as the portfolio computed them from the stored JSON before the rows."""
    by_team: dict[str, list] = {}
    for pilot in pilots:
        answered = FeedbackRound.objects.answered().filter(pilot=pilot).order_by("-period_start")
        summaries = [
            s
            for s in (summary_of(r.results, MINUTES_KEY) for r in answered[:RECENT_ROUNDS])
            if s is not None
        ]
        pooled = stats.pool(summaries)
        if pooled.mean is None:
            continue
        scale = PERIODS_PER_MONTH[pilot.cadence] * pilot.participations.count() / 60
        interval = stats.interval(pooled, n_eff=stats.effective_n(summaries))
        by_team.setdefault(pilot.team.name, []).append(
            (
                pooled.mean * scale,
                stats.Interval(interval.low * scale, interval.high * scale) if interval else None,
            )
        )
    out = {}
    for team, items in by_team.items():
        total, interval = stats.sum_intervals(items)
        out[team] = (
            total,
            interval.low if interval else None,
            interval.high if interval else None,
        )
    return out


def test_the_portfolio_hours_are_the_figures_pooled_from_the_stored_results(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilots = []
    for name, cadence, people in (("Support", "weekly", 4), ("Sales", "monthly", 2)):
        pilot = PilotFactory(stage="pilot", team=TeamFactory(name=name), cadence=cadence)
        for _ in range(people):
            ParticipationFactory(pilot=pilot)
        pilots.append(pilot)
    support, sales = pilots
    # Four rounds (only the last three count), one of them with minutes withheld.
    add_round(support, scores(MINUTES_KEY, [900, 800, 700]), weeks_ago=4)
    add_round(support, scores(MINUTES_KEY, [30, 60, 45, 20]), weeks_ago=3)
    add_round(support, [{"quality": 4}] * 3 + [{"minutes_saved": 10}], weeks_ago=2)
    add_round(support, scores(MINUTES_KEY, [15, 25, 35, 90, 120]), weeks_ago=1)
    # A single round whose answers are all alike, and one with no answers.
    add_round(sales, scores(MINUTES_KEY, [40, 40, 40]), weeks_ago=2)
    add_round(sales, [], weeks_ago=1)
    # A pilot with no minutes shown adds no hours.
    add_round(PilotFactory(stage="pilot", team=TeamFactory(name="Legal")), [], weeks_ago=1)

    context = evidence.portfolio_context(Pilot.objects.all())

    got = {r["key"]: (r["hours"], r["ci_low"], r["ci_high"]) for r in context["hours_by_team"]}
    expected = _expected_hours(Pilot.objects.select_related("team"))
    assert set(got) == set(expected) == {"Support", "Sales"}
    for team, figures in expected.items():
        assert got[team] == pytest.approx(figures, rel=1e-9)
    [pilot_stage] = context["hours_by_stage"]
    assert pilot_stage["hours"] == pytest.approx(sum(f[0] for f in expected.values()), rel=1e-9)


def test_the_stage_history_takes_the_latest_move_by_instant_then_by_id():
    start = timezone.make_aware(datetime.datetime(2026, 3, 10, 12))
    with time_machine.travel(start, tick=False):
        pilot = PilotFactory(stage="pilot")
    moved = timezone.make_aware(datetime.datetime(2026, 4, 2, 9, 0, 0))
    for action, source, target, at in (
        # Same instant: the later row is the later move.
        ("submit", "draft", "proposed", moved),
        ("approve", "proposed", "sandbox", moved),
        # A fraction of a second later in May, then a whole second later: order by instant.
        ("promote", "sandbox", "pilot", moved + datetime.timedelta(days=30, seconds=1)),
        ("pause", "pilot", "paused", moved + datetime.timedelta(days=30, microseconds=5)),
    ):
        StageChange.objects.create(
            pilot=pilot, action=action, from_stage=source, to_stage=target, created_at=at
        )
    with time_machine.travel(start + datetime.timedelta(days=60), tick=False):
        history = evidence.portfolio_context(Pilot.objects.all())["stage_history"]
    assert history["months"][-4:] == [datetime.date(2026, m, 1) for m in (2, 3, 4, 5)]
    counts = {s["key"]: s["counts"][-4:] for s in history["stages"]}
    # February: not created yet; March: the stage its first move left; April: the later of
    # two moves at one instant; May: the move a second later, not the one 5 µs later.
    assert counts == {
        "draft": [0, 1, 0, 0],
        "sandbox": [0, 0, 1, 0],
        "pilot": [0, 0, 0, 1],
    }


def _old_portfolio_hours(pilots, group) -> dict[str, tuple]:
    """(hours, ci_low, ci_high, cost, pilots) per group as the portfolio computed them before
    the pooled rows: each pilot's interval from its stored JSON, then `stats.sum_intervals`,
    and the group's cost only when every pilot's is known (pilots.costs)."""
    from pilots import costs

    by_group: dict[str, list] = {}
    for pilot in pilots:
        answered = FeedbackRound.objects.answered().filter(pilot=pilot).order_by("-period_start")
        summaries = [
            s
            for s in (summary_of(r.results, MINUTES_KEY) for r in answered[:RECENT_ROUNDS])
            if s is not None
        ]
        pooled = stats.pool(summaries)
        if pooled.mean is None:
            continue
        people = pilot.participations.count()
        scale = PERIODS_PER_MONTH[pilot.cadence] * people / 60
        interval = stats.interval(pooled, n_eff=stats.effective_n(summaries))
        by_group.setdefault(group(pilot), []).append(
            (
                pooled.mean * scale,
                stats.Interval(interval.low * scale, interval.high * scale) if interval else None,
                costs.monthly_cost(pilot.tool, people),
            )
        )
    out = {}
    for key, items in by_group.items():
        total, interval = stats.sum_intervals([(h, i) for h, i, _c in items])
        known = [c for _h, _i, c in items if c is not None]
        out[key] = (
            total,
            interval.low if interval else None,
            interval.high if interval else None,
            sum(known) if len(known) == len(items) else None,
            len(items),
        )
    return out


def _shapes(settings) -> None:
    """Pilots of every shape the hours saved can take, over three teams and three stages."""
    from tests.factories import AIToolFactory

    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    seat = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("12.50"))
    flat = AIToolFactory(cost_model="flat", cost_amount=Decimal("300"))
    unknown = AIToolFactory()
    support, sales, legal = (TeamFactory(name=n) for n in ("Support", "Sales", "Legal"))

    def pilot(team, stage, cadence, people, tool):
        p = PilotFactory(stage=stage, team=team, cadence=cadence, tool=tool)
        for _ in range(people):
            ParticipationFactory(pilot=p)
        return p

    # Four rounds, the oldest out of the pool; one withheld (one answer of minutes).
    p = pilot(support, "pilot", "weekly", 4, seat)
    add_round(p, scores(MINUTES_KEY, [900, 800, 700]), weeks_ago=4)
    add_round(p, scores(MINUTES_KEY, [30, 60, 45, 20]), weeks_ago=3)
    add_round(p, [{"quality": 4}] * 3 + [{"minutes_saved": 10}], weeks_ago=2)
    add_round(p, scores(MINUTES_KEY, [15, 25, 35, 90, 120]), weeks_ago=1)
    # Identical answers (the sd floored), then a round nobody answered.
    p = pilot(sales, "pilot", "monthly", 2, flat)
    add_round(p, scores(MINUTES_KEY, [40, 40, 40]), weeks_ago=2)
    add_round(p, [], weeks_ago=1)
    # Rounds of 0, 1 and 2 answers (all below the threshold): no hours at all.
    p = pilot(sales, "sandbox", "biweekly", 3, seat)
    for weeks, answers in ((3, []), (2, [5]), (1, [5, 7])):
        add_round(p, scores(MINUTES_KEY, answers), weeks_ago=weeks)
    # Every two weeks, a tool of unknown cost: its group shows no cost.
    p = pilot(legal, "sandbox", "biweekly", 5, unknown)
    add_round(p, scores(MINUTES_KEY, [0, 10, 20, 600]), weeks_ago=2)
    add_round(p, scores(MINUTES_KEY, [5, 5, 50]), weeks_ago=1)
    # No participant left: hours of zero, but the pilot still counts in its group.
    p = pilot(legal, "retired", "weekly", 0, flat)
    add_round(p, scores(MINUTES_KEY, [30, 60, 90]), weeks_ago=1)
    # Two pilots of one team and stage add up.
    p = pilot(support, "pilot", "monthly", 1, seat)
    add_round(p, scores(MINUTES_KEY, [120, 60, 30, 240, 10, 10]), weeks_ago=1)


def test_the_portfolio_totals_are_those_of_per_pilot_intervals_for_every_shape(settings):
    _shapes(settings)
    pilots = list(Pilot.objects.select_related("team", "tool"))

    context = evidence.portfolio_context(Pilot.objects.all())

    for rows, group in (
        (context["hours_by_stage"], lambda p: p.stage),
        (context["hours_by_team"], lambda p: p.team.name),
    ):
        got = {
            r["key"]: (r["hours"], r["ci_low"], r["ci_high"], r["cost"], r["pilots"]) for r in rows
        }
        expected = _old_portfolio_hours(pilots, group)
        assert set(got) == set(expected)
        for key, figures in expected.items():
            for value, want in zip(got[key], figures, strict=True):
                if want is None or isinstance(want, (int, Decimal)):
                    assert value == want, key  # costs and counts: exact
                else:
                    assert value == pytest.approx(want, rel=1e-9, abs=1e-9), key
    teams = {r["key"]: r for r in context["hours_by_team"]}
    assert teams["Legal"]["cost"] is None and teams["Sales"]["cost"] is not None
    assert teams["Support"]["pilots"] == 2 and teams["Sales"]["pilots"] == 1


def test_closing_a_round_rewrites_its_pilots_pooled_minutes_saved(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    add_round(pilot, scores(MINUTES_KEY, [10, 20, 30]), weeks_ago=2)
    before = PilotMinutesSaved.objects.get(pilot=pilot)
    for value in (100, 200, 300, 400):
        _prompt, token = prompt_with_token(feedback_round, UserFactory())
        answering.submit_response(
            token=token, answers={**GOOD_ANSWERS, "minutes_saved": str(value)}
        )

    scheduling.close_round(feedback_round.pk)

    row = PilotMinutesSaved.objects.get(pilot=pilot)
    summaries = [
        summary_of(r.results, MINUTES_KEY)
        for r in FeedbackRound.objects.answered().filter(pilot=pilot)
    ]
    pooled = stats.pool(summaries)
    interval = stats.interval(pooled, n_eff=stats.effective_n(summaries))
    assert (before.n, row.n, row.n_eff) == (3, 7, 4)
    assert (row.mean, row.ci_low, row.ci_high) == pytest.approx(
        (pooled.mean, interval.low, interval.high), rel=1e-9
    )


def test_a_pilot_whose_recent_rounds_show_no_minutes_has_no_pooled_row(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    add_round(pilot, scores(MINUTES_KEY, [10, 20, 30]), weeks_ago=4)
    assert PilotMinutesSaved.objects.filter(pilot=pilot).exists()
    # Three newer rounds without minutes shown push the only one out of the pool.
    for weeks in (3, 2, 1):
        add_round(pilot, scores("quality", [3, 4, 5]), weeks_ago=weeks)

    assert not PilotMinutesSaved.objects.filter(pilot=pilot).exists()


def test_the_pooled_minutes_backfill_writes_the_rows_close_writes(settings):
    _shapes(settings)
    written = {
        r.pilot_id: (r.n, r.n_eff, r.mean, r.ci_low, r.ci_high)
        for r in PilotMinutesSaved.objects.all()
    }
    PilotMinutesSaved.objects.all().delete()

    importlib.import_module("feedback.migrations.0015_backfill_pilot_minutes_saved").backfill(
        apps, None
    )

    assert {
        r.pilot_id: (r.n, r.n_eff, r.mean, r.ci_low, r.ci_high)
        for r in PilotMinutesSaved.objects.all()
    } == written
    # Of six pilots, the one whose rounds all stayed below the threshold has none.
    assert len(written) == 5


def test_the_database_refuses_a_pooled_row_without_answers_or_with_half_an_interval():
    from django.db import IntegrityError, transaction

    pilot = PilotFactory()
    for bad in (
        {"n": 0, "ci_low": None, "ci_high": None},
        {"n": 3, "ci_low": 1.0, "ci_high": None},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PilotMinutesSaved.objects.create(pilot=pilot, n_eff=3, mean=1.0, **bad)
