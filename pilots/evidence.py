"""Success-metric statuses, the recommendation and evidence snapshots.

A metric is judged over its pilot's last RECENT_ROUNDS closed rounds: the stored round
summaries (n, mean, sd) of its question are pooled exactly (feedback.stats.pool) and a 95%
interval is drawn around the pooled mean (feedback.stats.interval: Student t with a floored sd,
Wilson for yes/no shares). Rounds whose figures were withheld under the anonymity threshold
contribute nothing.

Repeated answers are not independent: the rounds of a pilot are answered by the same
participants, so three rounds of the same 20 people are not 60 independent answers (with an
intra-person correlation of 0.3–0.5, treating them as 60 doubled the false "met" rate). The
interval is therefore drawn with an effective sample size n_eff = the largest single round's
number of answers among the pooled rounds — at most the number of distinct people who could
have answered, the conservative design effect of fully correlated repeats. The pooled mean is
kept (it is unbiased); only the interval's width uses n_eff. The minimum number of responses of
a metric is still counted in answers. A metric is met only when the whole interval lies on
the improving side of the target, never from the mean alone.

Hours saved per month = pooled mean minutes saved per period × periods per month (weekly 52/12,
every two weeks 26/12, monthly 1) × participants / 60; the interval (drawn with the same
effective n) is scaled the same way. It extrapolates the respondents' mean to every participant:
if those who save little answer less often, it is too high (non-response bias).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from feedback import stats
from feedback.models import FeedbackRound
from feedback.results import summary_of

from .models import GuardrailCheck, Participation, Pilot, Stage, StageChange

if TYPE_CHECKING:
    from .models import SuccessMetric

RECENT_ROUNDS = 3
CHART_ROUNDS = 12
MINUTES_KEY = "minutes_saved"
PERIODS_PER_MONTH = {
    Pilot.Cadence.WEEKLY: 52 / 12,
    Pilot.Cadence.BIWEEKLY: 26 / 12,
    Pilot.Cadence.MONTHLY: 1.0,
}
PORTFOLIO_MONTHS = 6


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
    metric: SuccessMetric
    status: str
    reason: str
    enough_responses: bool
    n: int = 0
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int = 0
    n_effective: int = 0

    @property
    def status_label(self) -> str:
        return str(METRIC_STATUS_LABELS[self.status])


class Recommendation:
    PROMOTE = "promote"
    KEEP_GOING = "keep_going"
    STOP = "stop"


RECOMMENDATION_LABELS = {
    Recommendation.PROMOTE: gettext_lazy("Promote"),
    Recommendation.KEEP_GOING: gettext_lazy("Keep going"),
    Recommendation.STOP: gettext_lazy("Stop"),
}


@dataclass(frozen=True)
class Advice:
    action: str
    reason: str

    @property
    def label(self) -> str:
        return str(RECOMMENDATION_LABELS[self.action])


@dataclass(frozen=True)
class HoursSaved:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    participants: int
    periods_per_month: float


@dataclass
class _Evidence:
    rounds: list[FeedbackRound] = field(default_factory=list)  # closed, newest first

    @property
    def recent(self) -> list[FeedbackRound]:
        return self.rounds[:RECENT_ROUNDS]


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
        return MetricEvaluation(
            metric,
            MetricStatus.INCONCLUSIVE,
            _("No feedback round with answers has closed yet."),
            False,
        )
    summaries = [s for s in (summary_of(r.results, metric.question_key) for r in rounds) if s]
    pooled = stats.pool(summaries)
    n_eff = stats.effective_n(summaries)
    interval = stats.interval(pooled, n_eff=n_eff)
    target = float(metric.target)
    common = {
        "n": pooled.n,
        "n_effective": n_eff,
        "estimate": pooled.mean,
        "ci_low": interval.low if interval else None,
        "ci_high": interval.high if interval else None,
        "rounds": len(rounds),
    }
    params = {
        "n": pooled.n,
        "rounds": len(rounds),
        "min": metric.min_responses,
        "target": _fmt(target),
        "low": _fmt(interval.low) if interval else "–",
        "high": _fmt(interval.high) if interval else "–",
    }
    if pooled.n < metric.min_responses:
        return MetricEvaluation(
            metric,
            MetricStatus.INCONCLUSIVE,
            _(
                "%(n)d answers over the last %(rounds)d closed round(s); %(min)d are needed "
                "to judge it."
            )
            % params,
            False,
            **common,
        )
    status = stats.judge(
        interval, target=target, higher_is_better=metric.direction == metric.Direction.HIGHER
    )
    better = _("above") if metric.direction == metric.Direction.HIGHER else _("below")
    worse = _("below") if metric.direction == metric.Direction.HIGHER else _("above")
    if status == MetricStatus.MET:
        reason = _(
            "The whole 95%% interval (%(low)s to %(high)s) is %(side)s the target %(target)s."
        ) % {**params, "side": better}
    elif status == MetricStatus.NOT_MET:
        reason = _(
            "The whole 95%% interval (%(low)s to %(high)s) is %(side)s the target %(target)s."
        ) % {**params, "side": worse}
    elif interval is None:
        reason = _("Too few answers to draw an interval.")
    else:
        reason = (
            _(
                "The 95%% interval (%(low)s to %(high)s) contains the target %(target)s: "
                "more answers are needed to tell."
            )
            % params
        )
    return MetricEvaluation(metric, status, reason, True, **common)


def metric_statuses(
    pilot: Pilot, *, rounds: list[FeedbackRound] | None = None
) -> list[MetricEvaluation]:
    """Judge each success metric of a pilot over its last RECENT_ROUNDS answered rounds.

    `rounds`, when given, are closed rounds newest first (empty ones are skipped here).
    """
    rounds = _evidence_rounds(pilot) if rounds is None else _answered(rounds)
    return [evaluate_metric(m, rounds) for m in pilot.metrics.all()]


def recommend(
    evaluations: list[MetricEvaluation], open_breaches: int, *, has_evidence: bool = True
) -> Advice | None:
    """Promote, keep going or stop, with the reason in one sentence; None without evidence.

    A pilot that has no answered round yet gets no recommendation at all: "keep going" would
    read as a judgement that nothing supports.
    """
    if not has_evidence:
        return None
    missed = [e.metric.name for e in evaluations if e.status == MetricStatus.NOT_MET]
    if missed:
        return Advice(
            Recommendation.STOP,
            _("Stop: %(metrics)s clearly missed the target with 95%% confidence.")
            % {"metrics": ", ".join(missed)},
        )
    if open_breaches:
        return Advice(
            Recommendation.KEEP_GOING,
            _(
                "Keep going: %(count)d open guardrail breach(es) must be resolved before any "
                "promotion."
            )
            % {"count": open_breaches},
        )
    if not evaluations:
        return Advice(
            Recommendation.KEEP_GOING,
            _("Keep going: the pilot has no success metric to judge it by."),
        )
    pending = [e for e in evaluations if e.status != MetricStatus.MET]
    if not pending:
        return Advice(
            Recommendation.PROMOTE,
            _(
                "Promote: every success metric beats its target with 95%% confidence and no "
                "guardrail is breached."
            ),
        )
    short = [e.metric.name for e in pending if not e.enough_responses]
    if short:
        return Advice(
            Recommendation.KEEP_GOING,
            _("Keep going: %(metrics)s still lack(s) enough answers to be judged.")
            % {"metrics": ", ".join(short)},
        )
    return Advice(
        Recommendation.KEEP_GOING,
        _("Keep going: the interval of %(metrics)s still straddles its target.")
        % {"metrics": ", ".join(e.metric.name for e in pending)},
    )


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
) -> dict:
    return {
        "metrics": [
            {
                "metric": e.metric.name,
                "question": e.metric.question_key,
                "target": float(e.metric.target),
                "direction": e.metric.direction,
                "min_responses": e.metric.min_responses,
                "status": e.status,
                "reason": e.reason,
                "n": e.n,
                "n_effective": e.n_effective,
                "estimate": e.estimate,
                "ci": [e.ci_low, e.ci_high],
            }
            for e in evaluations
        ],
        "recommendation": (
            {"action": advice.action, "reason": advice.reason} if advice is not None else None
        ),
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
    breach_ids = list(pilot.breaches.open().values_list("pk", flat=True))
    advice = recommend(evaluations, len(breach_ids), has_evidence=bool(rounds))
    hours = hours_saved(pilot, rounds, pilot.participations.count())
    return _snapshot(evaluations, advice, hours, rounds, breach_ids)


@dataclass(frozen=True)
class GuardrailStatus:
    outcome: str  # GuardrailCheck.Outcome
    label: str


def guardrail_statuses(
    pilot: Pilot, guardrails: list, open_breaches: list
) -> dict[int, GuardrailStatus]:
    """Each system-checked guardrail as holding, broken or not evaluated (one query).

    Broken while a breach of it is open; otherwise what the newest round with checks said
    of a metric guardrail (rounds below the anonymity threshold record none), and holding for
    an exposure guardrail once the pilot collects feedback. Policy rules that no system
    checks get no status.
    """
    from .breach_text import OUTCOME_LABELS

    latest_round = (
        GuardrailCheck.objects.filter(guardrail__pilot=pilot)
        .order_by("-round__period_start")
        .values("round_id")[:1]
    )
    checks = dict(
        GuardrailCheck.objects.filter(round_id__in=latest_round).values_list(
            "guardrail_id", "outcome"
        )
    )
    broken = {b.guardrail_id for b in open_breaches}
    statuses = {}
    for guardrail in guardrails:
        if guardrail.pk in broken:
            outcome = GuardrailCheck.Outcome.BROKEN
        elif guardrail.kind == guardrail.Kind.METRIC:
            outcome = checks.get(guardrail.pk, GuardrailCheck.Outcome.NOT_EVALUATED)
        elif guardrail.forbids_data_exposure:
            outcome = GuardrailCheck.Outcome.HOLDING
        else:
            continue
        statuses[guardrail.pk] = GuardrailStatus(outcome, str(OUTCOME_LABELS[outcome]))
    return statuses


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
    return {
        "evidence_pilot": pilot,
        "metric_evaluations": evaluations,
        "recommendation": advice,
        "hours_saved": hours,
        "recent_rounds": RECENT_ROUNDS,
        "evidence_rounds": rounds,
        "round_rows": [round_row(r) for r in rounds],
        "open_breaches": breaches,
        "guardrail_rows": [{"guardrail": g, "status": statuses.get(g.pk)} for g in guardrails],
        "metric_charts": [
            {"metric": e.metric, "svg": charts.metric_chart(e.metric, chronological)}
            for e in evaluations
        ],
        "response_rate_chart": charts.response_rate_chart(chronological),
    }


def round_row(feedback_round: FeedbackRound) -> dict:
    """A round's stored results as a table row (figures only when they were shown)."""
    results = feedback_round.results or {}
    return {
        "round": feedback_round,
        "responses": results.get("responses", feedback_round.response_count),
        "invited": results.get("invited", feedback_round.invited_count),
        "response_rate": results.get("response_rate"),
        "shown": bool(results.get("shown")),
        # Every question, with `shown` false where its figures were withheld.
        "questions": [q for q in results.get("questions", []) if q.get("kind") != "text"],
        "incidents": results.get("incidents"),
        "comments": results.get("comments", []),
    }


# ---------------------------------------------------------------------------------------------
# Portfolio


def _month_ends(now: datetime.datetime, months: int) -> list[tuple[str, datetime.datetime]]:
    """(label, instant) at the end of each of the last `months` months, the last one now."""
    local = timezone.localtime(now)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    points = [(first.strftime("%Y-%m"), now)]
    for _i in range(months - 1):
        previous_first = (first - datetime.timedelta(days=1)).replace(day=1)
        points.append((previous_first.strftime("%Y-%m"), first))
        first = previous_first
    return list(reversed(points))


def portfolio_context(pilots) -> dict:
    """Context for templates/pilots/_portfolio_evidence.html on the portfolio.

    Four queries whatever the number of pilots: the pilots, their participant counts, the last
    RECENT_ROUNDS closed rounds of each (a window function), their stage changes.
    """
    rows = list(pilots.order_by().values("pk", "stage", "cadence", "created_at", "team__name"))
    ids = [r["pk"] for r in rows]
    participants = dict(
        Participation.objects.filter(pilot_id__in=ids)
        .values("pilot_id")
        .annotate(c=Count("id"))
        .order_by()
        .values_list("pilot_id", "c")
    )
    recent = (
        FeedbackRound.objects.answered()
        .filter(pilot_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("pilot_id")], order_by=F("period_start").desc()
            )
        )
        .filter(rank__lte=RECENT_ROUNDS)
        .values_list("pilot_id", "results")
    )
    minutes: dict[int, list[stats.Summary]] = {}
    for pilot_id, results in recent:
        summary = summary_of(results, MINUTES_KEY)
        if summary:
            minutes.setdefault(pilot_id, []).append(summary)

    by_stage: dict[str, list] = {}
    by_team: dict[str, list] = {}
    for row in rows:
        summaries = minutes.get(row["pk"], [])
        pooled = stats.pool(summaries)
        if pooled.mean is None:
            continue
        scale = PERIODS_PER_MONTH.get(row["cadence"], 1.0) * participants.get(row["pk"], 0) / 60
        interval = stats.interval(pooled, n_eff=stats.effective_n(summaries))
        item = (
            pooled.mean * scale,
            stats.Interval(interval.low * scale, interval.high * scale) if interval else None,
        )
        by_stage.setdefault(row["stage"], []).append(item)
        by_team.setdefault(row["team__name"], []).append(item)

    def totals(groups: dict[str, list], label) -> list[dict]:
        out = []
        for key, items in groups.items():
            total, interval = stats.sum_intervals(items)
            out.append(
                {
                    "key": key,
                    "label": label(key),
                    "pilots": len(items),
                    "hours": total,
                    "ci_low": interval.low if interval else None,
                    "ci_high": interval.high if interval else None,
                }
            )
        return out

    stage_hours = sorted(
        totals(by_stage, lambda s: Stage(s).label), key=lambda r: Stage.values.index(r["key"])
    )
    team_hours = sorted(totals(by_team, str), key=lambda r: r["key"])

    points = _month_ends(timezone.now(), PORTFOLIO_MONTHS)
    changes: dict[int, list[tuple[datetime.datetime, str, str]]] = {}
    for pilot_id, from_stage, to_stage, created_at in (
        StageChange.objects.filter(pilot_id__in=ids)
        .order_by("created_at", "pk")
        .values_list("pilot_id", "from_stage", "to_stage", "created_at")
    ):
        changes.setdefault(pilot_id, []).append((created_at, from_stage, to_stage))
    counts = {label: dict.fromkeys(Stage.values, 0) for label, _at in points}
    for row in rows:
        history = changes.get(row["pk"], [])
        for label, at in points:
            if row["created_at"] > at:
                continue
            # Before its first move a pilot was in that move's source stage; a pilot never
            # moved (created directly, e.g. imported) has always been in its current stage.
            stage = history[0][1] if history else row["stage"]
            for when, _from, to_stage in history:
                if when > at:
                    break
                stage = to_stage
            counts[label][stage] += 1
    stages_seen = [s for s in Stage.values if any(counts[lbl][s] for lbl, _at in points)]
    from . import charts

    return {
        "hours_by_stage": stage_hours,
        "hours_by_team": team_hours,
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
