"""Success-metric statuses, the recommendation and evidence snapshots.

A metric is judged over its pilot's last RECENT_ROUNDS closed rounds: the stored round
summaries (n, mean, sd, and the question's grid: step, minimum, maximum) of its question are
pooled exactly (feedback.stats.pool) and a 95% interval is drawn around the pooled mean
(feedback.stats.interval: Student t with the sd floored at the question's step/√12, the count
interval for counts, Wilson for yes/no shares, never beyond the question's ends). Rounds whose
figures were withheld under the anonymity threshold contribute nothing.

Repeated answers are not independent: the rounds of a pilot are answered by the same
participants, so three rounds of the same 20 people are not 60 independent answers (with an
intra-person correlation of 0.3–0.5, treating them as 60 doubled the false "met" rate). The
interval is therefore drawn with an effective sample size n_eff = the largest single round's
number of answers among the pooled rounds — at most the number of distinct people who could
have answered, the conservative design effect of fully correlated repeats. The pooled mean is
kept (it is unbiased); only the interval's width uses n_eff. The minimum number of responses of
a metric is still counted in answers. A metric is met only when the whole interval lies on
the improving side of the target, never from the mean alone.

Repeated looks: the evidence is judged again after every round and Ops may promote at the first
"met". Because n_eff does not grow with the number of rounds, later looks are no more
confident than the first: over six looks at pilots exactly at their target, 3.2% of them were
"met" at some look (scale questions, 4,000 simulated pilots; 2.5% for counts), and
tests/decisions/test_simulation.py guards it at 5%.

How far an inconclusive metric is from a decision (`ToDecide`):
- below its minimum number of answers: the answers missing, and the rounds that takes at the
  pooled rounds' typical answers per round (rounds older than the last RECENT_ROUNDS leave
  the pool, so some rates never get there: no round count then);
- otherwise: the answers one round needs for the interval to leave the target, assuming the
  estimate and the spread stay as they are and the interval's half-width shrinks as
  t(n − 1)/√n (the spread is backed out of the interval's side facing the target, so counts'
  asymmetric intervals are honoured). Given as answers per round, never as rounds: with
  n_eff = the largest round, more rounds of the same people do not narrow the interval, and a
  round count would promise a decision that waiting cannot bring.
No estimate when the estimate sits exactly on the target or no interval could be drawn.

Hours saved per month = pooled mean minutes saved per period × periods per month (weekly 52/12,
every two weeks 26/12, monthly 1) × participants / 60; the interval (drawn with the same
effective n) is scaled the same way. It extrapolates the respondents' mean to every participant:
if those who save little answer less often, it is too high (non-response bias).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from feedback import stats
from feedback.models import FeedbackRound
from feedback.results import (
    INCIDENT_KIND_KEY,
    localized_incidents,
    localized_result,
    question_words,
    summary_of,
)
from feedback.savings import MINUTES_KEY, RECENT_ROUNDS
from pilots import costs
from pilots.breach_text import OUTCOME_LABELS
from pilots.lifecycle import GateResult, GateStatus
from pilots.models import GuardrailCheck, Participation, Pilot, Stage, StageChange

if TYPE_CHECKING:
    from pilots.models import SuccessMetric

CHART_ROUNDS = 12
PERIODS_PER_MONTH = {
    Pilot.Cadence.WEEKLY: 52 / 12,
    Pilot.Cadence.BIWEEKLY: 26 / 12,
    Pilot.Cadence.MONTHLY: 1.0,
}
PORTFOLIO_MONTHS = 6
# Version 2 snapshots store the figures and grounds behind each sentence, not the sentence.
SNAPSHOT_VERSION = 2


class MetricStatus:
    MET = stats.Status.MET
    NOT_MET = stats.Status.NOT_MET
    INCONCLUSIVE = stats.Status.INCONCLUSIVE


METRIC_STATUS_LABELS = {
    MetricStatus.MET: gettext_lazy("Met"),
    MetricStatus.NOT_MET: gettext_lazy("Not met"),
    MetricStatus.INCONCLUSIVE: gettext_lazy("Inconclusive"),
}


@dataclass(frozen=True)
class MetricEvaluation:
    """A metric's judgement: the figures it rests on; `reason` words them when read."""

    metric: SuccessMetric
    status: str
    enough_responses: bool
    n: int = 0
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int = 0
    n_effective: int = 0
    to_decide: ToDecide | None = None

    @property
    def status_label(self) -> str:
        return str(METRIC_STATUS_LABELS[self.status])

    @property
    def reason(self) -> str:
        return metric_reason(self.as_data())

    @property
    def to_decide_reason(self) -> str:
        return to_decide_reason(self.as_data())

    def as_data(self) -> dict:
        """What a snapshot keeps of the judgement: the figures its reason is worded from."""
        return {
            "metric": self.metric.name,
            "question": self.metric.question_key,
            "target": float(self.metric.target),
            "direction": self.metric.direction,
            "min_responses": self.metric.min_responses,
            "status": self.status,
            "enough_responses": self.enough_responses,
            "n": self.n,
            "n_effective": self.n_effective,
            "estimate": self.estimate,
            "ci": [self.ci_low, self.ci_high],
            "rounds": self.rounds,
            "to_decide": self.to_decide.as_data() if self.to_decide else None,
        }


class Need:
    """What an inconclusive metric lacks (stored in snapshots, worded when read)."""

    ANSWERS = "answers"  # fewer answers than its minimum
    SPREAD = "spread"  # an interval too wide to leave the target


@dataclass(frozen=True)
class ToDecide:
    """How far an inconclusive metric is from a decision, at the current estimate and spread.

    `answers`: more answers in all (need ANSWERS) or in one round beyond the largest recent
    one (need SPREAD). `rounds`: more rounds at `per_round` answers (need ANSWERS; None when
    rounds of that size never get there). `per_round`: the typical answers per round of the
    pooled rounds. `round_size`: the answers one round needs (need SPREAD).
    """

    need: str
    answers: int
    rounds: int | None = None
    per_round: int | None = None
    round_size: int | None = None

    def as_data(self) -> dict:
        return {
            "need": self.need,
            "answers": self.answers,
            "rounds": self.rounds,
            "per_round": self.per_round,
            "round_size": self.round_size,
        }


class Recommendation:
    PROMOTE = "promote"
    KEEP_GOING = "keep_going"
    STOP = "stop"


RECOMMENDATION_LABELS = {
    Recommendation.PROMOTE: gettext_lazy("Promote"),
    Recommendation.KEEP_GOING: gettext_lazy("Keep going"),
    Recommendation.STOP: gettext_lazy("Stop"),
}


class Grounds:
    """Why a recommendation is what it is (stored in snapshots, worded when read)."""

    METRICS_MISSED = "metrics_missed"
    BREACHES_OPEN = "breaches_open"
    NO_METRICS = "no_metrics"
    ALL_MET = "all_met"
    TOO_FEW_ANSWERS = "too_few_answers"
    STRADDLING = "straddling"


@dataclass(frozen=True)
class Advice:
    """A recommendation, its grounds and the metrics it names; `reason` words them."""

    action: str
    grounds: str
    metrics: tuple[str, ...] = ()
    open_breaches: int = 0

    @property
    def label(self) -> str:
        return str(RECOMMENDATION_LABELS[self.action])

    @property
    def reason(self) -> str:
        return recommendation_reason(self.as_data())

    def as_data(self) -> dict:
        return {
            "action": self.action,
            "grounds": self.grounds,
            "metrics": list(self.metrics),
            "open_breaches": self.open_breaches,
        }


@dataclass(frozen=True)
class HoursSaved:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    participants: int
    periods_per_month: float


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value is not None else "–"


def _closed_rounds(pilot: Pilot, limit: int) -> list[FeedbackRound]:
    return list(pilot.rounds.closed().order_by("-period_start")[:limit])


def _answered(rounds: list[FeedbackRound]) -> list[FeedbackRound]:
    """The rounds evidence pools: closed rounds nobody answered say nothing about a metric.

    Counting an empty round among "the last RECENT_ROUNDS" would push an answered round out
    of the pool and shrink the evidence (22 answers became 14 in a measured case).
    """
    return [r for r in rounds if r.response_count > 0][:RECENT_ROUNDS]


def _evidence_rounds(pilot: Pilot) -> list[FeedbackRound]:
    return list(pilot.rounds.answered().order_by("-period_start")[:RECENT_ROUNDS])


def evaluate_metric(metric: SuccessMetric, rounds: list[FeedbackRound]) -> MetricEvaluation:
    """Judge one metric from its pilot's recent closed rounds (newest first)."""
    if not rounds:
        return MetricEvaluation(metric, MetricStatus.INCONCLUSIVE, False)
    per_round = [summary_of(r.results, metric.question_key) for r in rounds]
    summaries = [s for s in per_round if s]
    pooled = stats.pool(summaries)
    n_eff = stats.effective_n(summaries)
    interval = stats.interval(pooled, n_eff=n_eff)
    common = {
        "n": pooled.n,
        "n_effective": n_eff,
        "estimate": pooled.mean,
        "ci_low": interval.low if interval else None,
        "ci_high": interval.high if interval else None,
        "rounds": len(rounds),
    }
    answered = [s.n if s else 0 for s in per_round]
    if pooled.n < metric.min_responses:
        to_decide = answers_to_judge(metric.min_responses, answered)
        return MetricEvaluation(
            metric, MetricStatus.INCONCLUSIVE, False, to_decide=to_decide, **common
        )
    status = stats.judge(
        interval,
        target=float(metric.target),
        higher_is_better=metric.direction == metric.Direction.HIGHER,
    )
    to_decide = None
    if status == MetricStatus.INCONCLUSIVE:
        to_decide = answers_to_decide(
            pooled.mean, interval, target=float(metric.target), n_eff=n_eff, answered=answered
        )
    return MetricEvaluation(metric, status, True, to_decide=to_decide, **common)


def _typical(answered: list[int]) -> int | None:
    """Typical answers per round: the mean over the pooled rounds that showed figures."""
    shown = [n for n in answered if n]
    return round(sum(shown) / len(shown)) if shown else None


def answers_to_judge(min_responses: int, answered: list[int]) -> ToDecide:
    """The answers a metric lacks to reach its minimum, and the rounds that takes.

    `answered`: the answers each pooled round contributed, newest first (0 when withheld).
    Rounds = the fewest more rounds, at the typical answers per round, after which the last
    RECENT_ROUNDS rounds hold `min_responses` answers; None if rounds of that size never do.
    """
    missing = max(min_responses - sum(answered), 1)
    per_round = _typical(answered)
    rounds = None
    if per_round:
        for more in range(1, RECENT_ROUNDS + 1):
            pool = [per_round] * more + answered[: RECENT_ROUNDS - more]
            if sum(pool) >= min_responses:
                rounds = more
                break
    return ToDecide(Need.ANSWERS, missing, rounds, per_round)


def answers_to_decide(
    estimate: float | None,
    interval: stats.Interval | None,
    *,
    target: float,
    n_eff: int,
    answered: list[int],
) -> ToDecide | None:
    """The answers one round needs for the interval to leave the target (see the docstring).

    The spread is backed out of the interval's side that faces the target: half-width × √n_eff
    / t(n_eff − 1). None when the estimate sits on the target or there is no interval.
    """
    if estimate is None or interval is None or n_eff < 2:
        return None
    distance = abs(estimate - target)
    facing = interval.high if estimate < target else interval.low
    spread = (
        abs(facing - estimate)
        * math.sqrt(n_eff)
        / stats.t_quantile(0.5 + stats.CONFIDENCE / 2.0, n_eff - 1)
    )
    needed = stats.answers_needed(spread, distance)
    if needed is None:
        return None
    return ToDecide(
        Need.SPREAD,
        max(needed - n_eff, 1),
        per_round=_typical(answered),
        round_size=max(needed, n_eff + 1),
    )


def metric_reason(data: dict) -> str:
    """Say in one sentence, in the active language, why a metric has its status.

    `data` is MetricEvaluation.as_data(), as stored in a snapshot. Snapshots recorded before
    their version 2 hold the sentence itself, in the language of whoever recorded it: it is
    returned as it is.
    """
    if "rounds" not in data:
        return str(data.get("reason", ""))
    if not data["rounds"]:
        return _("No feedback round with answers has closed yet.")
    low, high = [*(data.get("ci") or []), None, None][:2]
    params = {
        "n": data["n"],
        "rounds": data["rounds"],
        "min": data["min_responses"],
        "target": _fmt(data["target"]),
        "low": _fmt(low),
        "high": _fmt(high),
    }
    if data["n"] < data["min_responses"]:
        return (
            _(
                "%(n)d answers over the last %(rounds)d closed round(s); %(min)d are needed "
                "to judge it."
            )
            % params
        )
    higher = data["direction"] == "higher"
    if data["status"] == MetricStatus.MET:
        return _(
            "The whole 95%% interval (%(low)s to %(high)s) is %(side)s the target %(target)s."
        ) % {**params, "side": _("above") if higher else _("below")}
    if data["status"] == MetricStatus.NOT_MET:
        return _(
            "The whole 95%% interval (%(low)s to %(high)s) is %(side)s the target %(target)s."
        ) % {**params, "side": _("below") if higher else _("above")}
    if low is None:
        return _("Too few answers to draw an interval.")
    return (
        _(
            "The 95%% interval (%(low)s to %(high)s) contains the target %(target)s: "
            "more answers are needed to tell."
        )
        % params
    )


def to_decide_reason(data: dict) -> str:
    """Say in one sentence, in the active language, how far a metric is from a decision.

    `data` is MetricEvaluation.as_data(); "" when nothing is estimated (a decided metric, an
    estimate on the target, no interval, or a snapshot recorded before this was stored).
    """
    to_decide = data.get("to_decide")
    if not to_decide:
        return ""
    params = {
        "answers": to_decide["answers"],
        "rounds": to_decide.get("rounds") or 0,
        "per_round": to_decide.get("per_round") or 0,
        "round_size": to_decide.get("round_size") or 0,
        "min": data.get("min_responses", 0),
        "recent": RECENT_ROUNDS,
    }
    if to_decide["need"] == Need.SPREAD:
        return (
            _(
                "At the current estimate and spread, a decision needs about %(round_size)d "
                "answers in a round, %(answers)d more than the largest recent round; more "
                "rounds of the same people do not narrow the interval."
            )
            % params
        )
    if to_decide.get("rounds"):
        return (
            _(
                "About %(answers)d more answers are needed to judge it: about %(rounds)d more "
                "round(s) at %(per_round)d answers per round."
            )
            % params
        )
    if to_decide.get("per_round"):
        return (
            _(
                "About %(answers)d more answers are needed to judge it; rounds of about "
                "%(per_round)d answers never reach %(min)d over the last %(recent)d rounds, "
                "so more people need to answer."
            )
            % params
        )
    return _("About %(answers)d more answers are needed to judge it.") % params


def metric_statuses(
    pilot: Pilot, *, rounds: list[FeedbackRound] | None = None
) -> list[MetricEvaluation]:
    """Judge each success metric of a pilot over its last RECENT_ROUNDS answered rounds.

    `rounds`, when given, are closed rounds newest first (empty ones are skipped here).
    """
    rounds = _evidence_rounds(pilot) if rounds is None else _answered(rounds)
    return [evaluate_metric(m, rounds) for m in pilot.metrics.all()]


def metrics_met(pilot: Pilot) -> list[GateResult]:
    """The gate criterion "every success metric met", one result per metric (lifecycle asks)."""
    statuses = metric_statuses(pilot)
    if not statuses:
        return [
            GateResult(
                "metrics",
                _("Success metrics"),
                GateStatus.FAILED,
                _("The pilot has no success metric."),
            )
        ]
    results = []
    for s in statuses:
        label = _("Success metric “%(name)s”") % {"name": s.metric.name}
        if s.status == MetricStatus.MET:
            status = GateStatus.PASSED
        elif s.status == MetricStatus.NOT_MET or s.enough_responses:
            status = GateStatus.FAILED
        else:
            status = GateStatus.NO_EVIDENCE
        results.append(GateResult(f"metric_{s.metric.pk}", label, status, s.reason))
    return results


def recommend(
    evaluations: list[MetricEvaluation], open_breaches: int, *, has_evidence: bool = True
) -> Advice | None:
    """Promote, keep going or stop, with its grounds (worded in one sentence by `reason`).

    None without evidence: a pilot with no answered round yet gets no recommendation at all,
    as "keep going" would read as a judgement that nothing supports.
    """
    if not has_evidence:
        return None
    missed = tuple(e.metric.name for e in evaluations if e.status == MetricStatus.NOT_MET)
    if missed:
        return Advice(Recommendation.STOP, Grounds.METRICS_MISSED, missed, open_breaches)
    if open_breaches:
        return Advice(Recommendation.KEEP_GOING, Grounds.BREACHES_OPEN, (), open_breaches)
    if not evaluations:
        return Advice(Recommendation.KEEP_GOING, Grounds.NO_METRICS)
    pending = [e for e in evaluations if e.status != MetricStatus.MET]
    if not pending:
        return Advice(Recommendation.PROMOTE, Grounds.ALL_MET)
    short = tuple(e.metric.name for e in pending if not e.enough_responses)
    if short:
        return Advice(Recommendation.KEEP_GOING, Grounds.TOO_FEW_ANSWERS, short)
    return Advice(
        Recommendation.KEEP_GOING, Grounds.STRADDLING, tuple(e.metric.name for e in pending)
    )


def recommendation_reason(data: dict) -> str:
    """Say in one sentence, in the active language, why the recommendation is what it is.

    `data` is Advice.as_data(), as stored in a snapshot; a snapshot recorded before version 2
    holds the sentence itself, returned as it is.
    """
    grounds = data.get("grounds")
    metrics = ", ".join(data.get("metrics") or [])
    if grounds == Grounds.METRICS_MISSED:
        return _("Stop: %(metrics)s clearly missed the target with 95%% confidence.") % {
            "metrics": metrics
        }
    if grounds == Grounds.BREACHES_OPEN:
        return _(
            "Keep going: %(count)d open guardrail breach(es) must be resolved before any promotion."
        ) % {"count": data.get("open_breaches", 0)}
    if grounds == Grounds.NO_METRICS:
        return _("Keep going: the pilot has no success metric to judge it by.")
    if grounds == Grounds.ALL_MET:
        # python-format (a "%%" in the catalogue): formatted, even without parameters.
        return (
            _(
                "Promote: every success metric beats its target with 95%% confidence and no "
                "guardrail is broken."
            )
            % {}
        )
    if grounds == Grounds.TOO_FEW_ANSWERS:
        return _("Keep going: %(metrics)s still lack(s) enough answers to be judged.") % {
            "metrics": metrics
        }
    if grounds == Grounds.STRADDLING:
        return _("Keep going: the interval of %(metrics)s still straddles its target.") % {
            "metrics": metrics
        }
    return str(data.get("reason", ""))


def hours_saved(pilot: Pilot, rounds: list[FeedbackRound], participants: int) -> HoursSaved:
    """Estimated hours saved per month by the pilot's participants, with its interval."""
    per_month = PERIODS_PER_MONTH.get(pilot.cadence, 1.0)
    summaries = [s for s in (summary_of(r.results, MINUTES_KEY) for r in _answered(rounds)) if s]
    pooled = stats.pool(summaries)
    if pooled.mean is None:
        return HoursSaved(None, None, None, 0, participants, per_month)
    scale = per_month * participants / 60.0
    interval = stats.interval(pooled, n_eff=stats.effective_n(summaries))
    return HoursSaved(
        pooled.mean * scale,
        interval.low * scale if interval else None,
        interval.high * scale if interval else None,
        pooled.n,
        participants,
        per_month,
    )


def _snapshot(
    evaluations: list[MetricEvaluation],
    advice: Advice | None,
    hours: HoursSaved,
    rounds: list[FeedbackRound],
    open_breach_ids: list[int],
    guardrails: list[dict] | None = None,
) -> dict:
    # Data only, no sentence: worded_snapshot words it in the reader's language.
    return {
        "guardrails": guardrails or [],
        "version": SNAPSHOT_VERSION,
        "metrics": [e.as_data() for e in evaluations],
        "recommendation": advice.as_data() if advice is not None else None,
        "hours_saved_per_month": {
            "estimate": hours.estimate,
            "ci": [hours.ci_low, hours.ci_high],
            "n": hours.n,
            "participants": hours.participants,
        },
        "rounds": [r.pk for r in _answered(rounds)],
        "open_breaches": len(open_breach_ids),
        "open_breach_ids": open_breach_ids,
    }


def evidence_snapshot(pilot: Pilot) -> dict:
    """Return the evidence as it stands, to be stored with a decision."""
    rounds = _evidence_rounds(pilot)
    evaluations = metric_statuses(pilot, rounds=rounds)
    open_breaches = list(pilot.breaches.open())
    breach_ids = [b.pk for b in open_breaches]
    advice = recommend(evaluations, len(breach_ids), has_evidence=bool(rounds))
    hours = hours_saved(pilot, rounds, pilot.participations.count())
    guardrails = list(pilot.guardrails.all())
    statuses = guardrail_statuses(pilot, guardrails, open_breaches)
    return _snapshot(
        evaluations,
        advice,
        hours,
        rounds,
        breach_ids,
        [
            {"id": g.pk, "description": g.description, "status": statuses[g.pk].outcome}
            for g in guardrails
            if g.pk in statuses
        ],
    )


@dataclass(frozen=True)
class GuardrailStatus:
    outcome: str  # GuardrailCheck.Outcome
    label: str
    # The statistic the newest round with checks saw (None: not evaluated, or not checked).
    observed: float | None = None


def guardrail_statuses(
    pilot: Pilot, guardrails: list, open_breaches: list
) -> dict[int, GuardrailStatus]:
    """Each system-checked guardrail as holding, broken or not evaluated (one query).

    Broken while a breach of it is open; otherwise what the newest round with checks said
    of a metric guardrail (rounds below the anonymity threshold record none), and holding for
    an exposure guardrail once the pilot collects feedback. Policy rules that no system
    checks get no status.
    """
    latest_round = (
        GuardrailCheck.objects.filter(guardrail__pilot=pilot)
        .order_by("-round__period_start")
        .values("round_id")[:1]
    )
    checks = {
        guardrail_id: (outcome, value)
        for guardrail_id, outcome, value in GuardrailCheck.objects.filter(
            round_id__in=latest_round
        ).values_list("guardrail_id", "outcome", "observed_value")
    }
    # A withheld breach (a round below the threshold) names no guardrail: none is marked.
    broken = {b.guardrail_id for b in open_breaches if b.guardrail_id is not None}
    statuses = {}
    for guardrail in guardrails:
        checked, observed = checks.get(guardrail.pk, (GuardrailCheck.Outcome.NOT_EVALUATED, None))
        if guardrail.pk in broken:
            outcome = GuardrailCheck.Outcome.BROKEN
        elif guardrail.kind == guardrail.Kind.METRIC:
            outcome = checked
        elif guardrail.forbids_data_exposure:
            outcome = GuardrailCheck.Outcome.HOLDING
        else:
            continue
        statuses[guardrail.pk] = GuardrailStatus(
            outcome,
            str(OUTCOME_LABELS[outcome]),
            float(observed) if observed is not None else None,
        )
    return statuses


def worded_snapshot(snapshot: dict | None) -> dict:
    """A stored evidence snapshot with its sentences worded in the active language.

    The one way every page, export and API shows a snapshot: each metric gets `reason` and
    `status_label`, the recommendation `reason` and `label`. A snapshot recorded before version
    2 kept only its sentences, in the language of whoever made the move; they are shown as
    stored.
    """
    if not snapshot:
        return {}
    worded = dict(snapshot)
    worded["metrics"] = [
        {
            **m,
            "reason": metric_reason(m),
            "to_decide_reason": to_decide_reason(m),
            "status_label": str(METRIC_STATUS_LABELS.get(m.get("status"), m.get("status", ""))),
        }
        for m in snapshot.get("metrics") or []
    ]
    worded["guardrails"] = [
        {**g, "status_label": str(OUTCOME_LABELS.get(g.get("status"), g.get("status", "")))}
        for g in snapshot.get("guardrails") or []
    ]
    recommendation = snapshot.get("recommendation")
    if recommendation:
        action = recommendation.get("action")
        worded["recommendation"] = {
            **recommendation,
            "reason": recommendation_reason(recommendation),
            "label": str(RECOMMENDATION_LABELS.get(action, action or "")),
        }
    return worded


def decision_rows(changes: list[StageChange]) -> list[dict]:
    """Stage changes with the evidence each recorded, worded in the active language."""
    return [{"change": c, "evidence": worded_snapshot(c.evidence)} for c in changes]


def page_context(pilot: Pilot, *, chart_rounds: int = CHART_ROUNDS) -> dict:
    """Context for templates/pilots/_evidence.html on the pilot page.

    Queries: closed rounds, metrics, participants, open breaches, guardrails and their latest
    checks — whatever the history.
    """
    from . import charts

    rounds = _closed_rounds(pilot, chart_rounds)
    evaluations = metric_statuses(pilot, rounds=rounds)
    breaches = list(
        pilot.breaches.open().select_related("guardrail", "round").order_by("-created_at")
    )
    advice = recommend(evaluations, len(breaches), has_evidence=bool(_answered(rounds)))
    guardrails = list(pilot.guardrails.all())
    statuses = guardrail_statuses(pilot, guardrails, breaches)
    hours = hours_saved(pilot, rounds, pilot.participations.count())
    chronological = list(reversed(rounds))
    rows = round_rows(rounds)
    from . import results_table

    return {
        "results_table": results_table.table(evaluations, guardrails, statuses),
        "evidence_pilot": pilot,
        "metric_evaluations": evaluations,
        "recommendation": advice,
        "hours_saved": hours,
        "recent_rounds": RECENT_ROUNDS,
        "evidence_rounds": rounds,
        "round_rows": rows,
        "open_breaches": breaches,
        "guardrail_rows": [{"guardrail": g, "status": statuses.get(g.pk)} for g in guardrails],
        "metric_charts": [
            {"metric": e.metric, "svg": charts.metric_chart(e.metric, chronological)}
            for e in evaluations
        ],
        "response_rate_chart": charts.response_rate_chart(chronological),
        # Every number, scale and yes/no question across the same rounds, from the same
        # stored (threshold-checked) figures as the round tables: no further query.
        "question_charts": [
            {"trend": trend, "svg": charts.trend_chart(trend, chronological)}
            for trend in charts.question_trends(list(reversed(rows)))
        ],
    }


def results_at_a_glance(pilot: Pilot) -> dict:
    """The pilot's results table alone (the API): what page_context computes for it.

    Queries: the answered recent rounds, metrics, open breaches, guardrails and their latest
    checks — whatever the history. The same evaluations as the page and the report, so every
    figure follows the anonymity threshold the same way.
    """
    from . import results_table

    evaluations = metric_statuses(pilot, rounds=_evidence_rounds(pilot))
    breaches = list(pilot.breaches.open())
    guardrails = list(pilot.guardrails.all())
    statuses = guardrail_statuses(pilot, guardrails, breaches)
    return results_table.table(evaluations, guardrails, statuses)


def round_rows(rounds: list[FeedbackRound]) -> list[dict]:
    """The rounds' stored results as table rows, worded in the active language.

    One query for the questions of all the rounds (none without stored results).
    """
    words = question_words(rounds)
    return [round_row(r, words.for_round(r)) for r in rounds]


def round_row(feedback_round: FeedbackRound, words: dict | None = None) -> dict:
    """A round's stored results as a table row (figures only when they were shown).

    `words` maps question keys to their words in the reader's language (round_rows fetches
    them); a question missing from it keeps the text stored when the round closed.
    """
    results = feedback_round.results or {}
    words = words or {}
    questions = [localized_result(q, words.get(q.get("key"))) for q in results.get("questions", [])]
    return {
        "round": feedback_round,
        "responses": results.get("responses", feedback_round.response_count),
        "invited": results.get("invited", feedback_round.invited_count),
        "response_rate": results.get("response_rate"),
        "shown": bool(results.get("shown")),
        # Every question, with `shown` false where its figures were withheld.
        "questions": [q for q in questions if q.get("kind") != "text"],
        # With the text questions too (the CSV export lists their number of answers).
        "all_questions": questions,
        "incidents": localized_incidents(results.get("incidents"), words.get(INCIDENT_KIND_KEY)),
        "comments": results.get("comments", []),
    }


# ---------------------------------------------------------------------------------------------
# Portfolio


def _month_ends(
    now: datetime.datetime, months: int
) -> list[tuple[datetime.date, datetime.datetime]]:
    """(month, instant) at the end of each of the last `months` months, the last one now.

    A month is its first day, formatted where it is shown in the reader's language.
    """
    local = timezone.localtime(now)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    points = [(first.date(), now)]
    for _i in range(months - 1):
        previous_first = (first - datetime.timedelta(days=1)).replace(day=1)
        points.append((previous_first.date(), first))
        first = previous_first
    return list(reversed(points))


def _per_month() -> Case:
    """PERIODS_PER_MONTH of the pilot's cadence, in SQL."""
    return Case(
        *(When(cadence=cadence, then=Value(v)) for cadence, v in PERIODS_PER_MONTH.items()),
        default=Value(1.0),
        output_field=FloatField(),
    )


def hours_by_group(ids) -> dict[tuple[str, str], dict]:
    """Hours saved per month summed per (stage, team name) of the pilots `ids`, in SQL.

    One query, a row per stage and team, whatever the number of pilots: each pilot's pooled
    minutes saved (feedback.PilotMinutesSaved, written at close) scaled by its periods per
    month × participants / 60, as `hours_saved` scales them; for the sum of their intervals
    (`stats.sum_intervals`) the sum of the squared scaled half-widths and how many pilots have
    no interval; the monthly cost of their tools (`with_monthly_cost`) and how many are known.
    """
    counted = Coalesce(
        Subquery(
            Participation.objects.filter(pilot_id=OuterRef("pk"))
            .order_by()
            .values("pilot_id")
            .annotate(c=Count("pk"))
            .values("c")
        ),
        0,
    )
    # Counted once per pilot (a correlated subquery), then used by the hours and the cost.
    seats = F("seats")
    scale = _per_month() * Cast(seats, FloatField()) / Value(60.0)
    half = (F("pooled_minutes__ci_high") - F("pooled_minutes__ci_low")) / Value(2.0) * scale
    rows = (
        Pilot.objects.filter(pk__in=ids, pooled_minutes__isnull=False)
        .annotate(seats=counted)
        .with_monthly_cost(seats=seats)
        .annotate(
            pilot_hours=ExpressionWrapper(
                F("pooled_minutes__mean") * scale, output_field=FloatField()
            ),
            pilot_half=ExpressionWrapper(half, output_field=FloatField()),
        )
        .order_by()
        .values("stage", "team__name")
        .annotate(
            pilots=Count("pk"),
            hours=Sum("pilot_hours"),
            squares=Sum(F("pilot_half") * F("pilot_half"), output_field=FloatField()),
            without_interval=Count("pk", filter=Q(pooled_minutes__ci_low__isnull=True)),
            cost=Sum("monthly_cost"),
            costs_known=Count("monthly_cost"),
        )
    )
    return {(row.pop("stage"), row.pop("team__name")): row for row in rows}


def stage_counts(pilots, instants: list[datetime.datetime]) -> list[tuple[int, str, int]]:
    """(index of the instant, stage, pilots) for the pilots' stages at each instant, in SQL.

    A pilot's stage at an instant: the last move made by then (by instant, then by id), else
    the stage its first move left, else the stage it is in; none before it was created. One
    query whatever the number of pilots: each move holds from its instant until the pilot's
    next move (a window over the moves), so at each instant a moved pilot has exactly one
    move holding or is before its first; pilots that never moved count in their stage.
    """
    rows_sql, rows_params = (
        pilots.order_by().values("pk", "stage", "created_at").query.sql_with_params()
    )
    moves = connection.ops.quote_name(StageChange._meta.db_table)
    at = "CAST(%s AS timestamp with time zone)" if connection.vendor == "postgresql" else "%s"
    instant_rows = " UNION ALL ".join(
        f"SELECT {i} AS i, {at} AS instant" for i in range(len(instants))
    )
    # Every piece is compiled SQL (its values as parameters) or this module's own text.
    sql = (
        f"WITH p AS ({rows_sql}),"  # noqa: S608
        " mv AS (SELECT pilot_id, from_stage, to_stage, created_at,"
        " LEAD(created_at) OVER (PARTITION BY pilot_id ORDER BY created_at, id) AS next_at,"
        " ROW_NUMBER() OVER (PARTITION BY pilot_id ORDER BY created_at, id) AS n"
        f" FROM {moves} WHERE pilot_id IN (SELECT pk FROM p)),"
        f" t AS ({instant_rows})"
        " SELECT t.i, mv.to_stage, COUNT(*) FROM p"
        " INNER JOIN mv ON mv.pilot_id = p.pk"
        " INNER JOIN t ON mv.created_at <= t.instant"
        " AND (mv.next_at IS NULL OR mv.next_at > t.instant)"
        " WHERE p.created_at <= t.instant GROUP BY t.i, mv.to_stage"
        " UNION ALL"
        " SELECT t.i, mv.from_stage, COUNT(*) FROM p"
        " INNER JOIN mv ON mv.pilot_id = p.pk AND mv.n = 1"
        " INNER JOIN t ON mv.created_at > t.instant"
        " WHERE p.created_at <= t.instant GROUP BY t.i, mv.from_stage"
        " UNION ALL"
        " SELECT t.i, p.stage, COUNT(*) FROM p INNER JOIN t ON p.created_at <= t.instant"
        " WHERE NOT EXISTS (SELECT 1 FROM mv WHERE mv.pilot_id = p.pk)"
        " GROUP BY t.i, p.stage"
    )  # nosec B608
    params = [*rows_params, *(connection.ops.adapt_datetimefield_value(at) for at in instants)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(i), stage, int(n)) for i, stage, n in cursor.fetchall()]


def portfolio_context(pilots) -> dict:
    """Context for templates/pilots/_portfolio_evidence.html on the portfolio.

    Two queries whatever the number of pilots: the hours saved summed per stage and team
    (`hours_by_group`) and the pilots counted by stage at each month end (`stage_counts`).
    """
    # The same pilots as a subquery, not a list of ids: a thousand parameters cost more to
    # bind and send than the database takes to select them again.
    ids = pilots.order_by().values("pk")
    groups = hours_by_group(ids)
    by_stage: dict[str, list] = {}
    by_team: dict[str, list] = {}
    for (stage, team), row in groups.items():
        by_stage.setdefault(stage, []).append(row)
        by_team.setdefault(team, []).append(row)

    def totals(grouped: dict[str, list], label) -> list[dict]:
        out = []
        for key, parts in grouped.items():
            # `stats.sum_intervals` over the group's pilots: estimates add, half-widths add in
            # quadrature, and one pilot without an interval leaves the sum without one.
            total = sum(p["hours"] for p in parts)
            count = sum(p["pilots"] for p in parts)
            interval = None
            if not any(p["without_interval"] for p in parts):
                half = math.sqrt(sum(p["squares"] for p in parts))
                interval = stats.Interval(total - half, total + half)
            # A group's cost only when every pilot's is known: a partial sum would flatter it.
            known = all(p["costs_known"] == p["pilots"] for p in parts)
            cost = sum(p["cost"] for p in parts) if known else None
            out.append(
                {
                    "key": key,
                    "label": label(key),
                    "pilots": count,
                    "hours": total,
                    "ci_low": interval.low if interval else None,
                    "ci_high": interval.high if interval else None,
                    "cost": cost,
                    "cost_per_hour": costs.cost_per_hour(
                        cost,
                        total,
                        interval.low if interval else None,
                        interval.high if interval else None,
                    ),
                }
            )
        return out

    stage_hours = sorted(
        totals(by_stage, lambda s: Stage(s).label), key=lambda r: Stage.values.index(r["key"])
    )
    team_hours = sorted(totals(by_team, str), key=lambda r: r["key"])

    points = _month_ends(timezone.now(), PORTFOLIO_MONTHS)
    counts = {label: dict.fromkeys(Stage.values, 0) for label, _at in points}
    for i, stage, n in stage_counts(pilots, [at for _label, at in points]):
        counts[points[i][0]][stage] += n
    stages_seen = [s for s in Stage.values if any(counts[lbl][s] for lbl, _at in points)]
    from . import charts

    return {
        "hours_by_stage": stage_hours,
        "hours_by_team": team_hours,
        "cost_currency": costs.currency(),
        "stage_history": {
            "months": [label for label, _at in points],
            "stages": [
                {
                    "key": s,
                    "label": Stage(s).label,
                    "counts": [counts[lbl][s] for lbl, _at in points],
                }
                for s in stages_seen
            ],
        },
        "stage_history_chart": charts.stage_history_chart(
            [label for label, _at in points],
            [(Stage(s).label, [counts[lbl][s] for lbl, _at in points]) for s in stages_seen],
        ),
    }
