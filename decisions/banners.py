"""The decision a pilot waits for, in one line: its page's banner and the Ops review queue.

Both read decisions.evidence.recommend, the one home of "promote, keep going or stop":
- "Ready to promote" (every success metric met, no open breach);
- "Keep going (about N rounds to a decision)" (N when every undecided metric only lacks
  answers and rounds of the current size get there; no N otherwise);
- "Stop: metric X not met";
- "Paused by guardrail Y" (a paused pilot whose open breach paused it).
The Ops home lists the running pilots whose evidence says promote or stop ("ready for review"),
in a fixed number of queries whatever the number of pilots.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from feedback.models import FeedbackRound
from pilots.models import GuardrailBreach, Pilot, Stage, SuccessMetric

from . import evidence

# Stages whose evidence can call for a decision by Ops.
REVIEWED_STAGES = (Stage.SANDBOX, Stage.PILOT)
QUEUE_LENGTH = 20


class Kind:
    PROMOTE = "promote"
    KEEP_GOING = "keep_going"
    STOP = "stop"
    PAUSED = "paused"


@dataclass(frozen=True)
class Banner:
    kind: str
    headline: str
    reason: str = ""


def rounds_to_decision(evaluations: list[evidence.MetricEvaluation]) -> int | None:
    """Rounds until every undecided metric can be judged, or None if rounds cannot tell."""
    pending = [e for e in evaluations if e.status == evidence.MetricStatus.INCONCLUSIVE]
    if not pending:
        return None
    rounds = []
    for e in pending:
        if e.to_decide is None or e.to_decide.need != evidence.Need.ANSWERS:
            return None
        if not e.to_decide.rounds:
            return None
        rounds.append(e.to_decide.rounds)
    return max(rounds)


def banner(
    pilot: Pilot,
    *,
    advice: evidence.Advice | None,
    evaluations: list[evidence.MetricEvaluation],
    open_breaches: list[GuardrailBreach],
) -> Banner | None:
    """The banner of a pilot's page, from what page_context already loaded (no query)."""
    if pilot.stage == Stage.PAUSED:
        pausing = [b for b in open_breaches if b.action_taken == b.ActionTaken.PAUSED]
        if not pausing:
            return None
        return Banner(
            Kind.PAUSED,
            _("Paused by guardrail %(guardrail)s") % {"guardrail": pausing[0].rule_name},
        )
    if pilot.stage not in REVIEWED_STAGES or advice is None:
        return None
    return _from_advice(advice, evaluations)


def _from_advice(advice: evidence.Advice, evaluations: list[evidence.MetricEvaluation]) -> Banner:
    if advice.action == evidence.Recommendation.PROMOTE:
        return Banner(Kind.PROMOTE, _("Ready to promote"), advice.reason)
    if advice.action == evidence.Recommendation.STOP:
        names = ", ".join(advice.metrics)
        return Banner(
            Kind.STOP,
            ngettext(
                "Stop: metric %(metrics)s not met",
                "Stop: metrics %(metrics)s not met",
                len(advice.metrics),
            )
            % {"metrics": names},
            advice.reason,
        )
    rounds = rounds_to_decision(evaluations)
    if rounds:
        headline = ngettext(
            "Keep going (about %(rounds)d round to a decision)",
            "Keep going (about %(rounds)d rounds to a decision)",
            rounds,
        ) % {"rounds": rounds}
    else:
        headline = _("Keep going")
    return Banner(Kind.KEEP_GOING, headline, advice.reason)


def ready_for_review(pilots, *, limit: int = QUEUE_LENGTH) -> tuple[list[dict], int]:
    """Running pilots whose evidence says promote or stop, oldest in their stage first.

    Four queries whatever the number of pilots: the pilots, their metrics, the last
    RECENT_ROUNDS answered rounds of each (a window function), their open breach counts.
    Returns (rows, how many there are in all).
    """
    running = list(
        pilots.filter(stage__in=REVIEWED_STAGES)
        .select_related("team", "tool")
        .order_by("stage_changed_at", "pk")
    )
    ids = [p.pk for p in running]
    metrics: dict[int, list[SuccessMetric]] = {}
    for m in SuccessMetric.objects.filter(pilot_id__in=ids).order_by("pk"):
        metrics.setdefault(m.pilot_id, []).append(m)
    rounds: dict[int, list[FeedbackRound]] = {}
    for r in (
        FeedbackRound.objects.answered()
        .filter(pilot_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("pilot_id")], order_by=F("period_start").desc()
            )
        )
        .filter(rank__lte=evidence.RECENT_ROUNDS)
        .order_by("pilot_id", "-period_start")
    ):
        rounds.setdefault(r.pilot_id, []).append(r)
    breaches = dict(
        GuardrailBreach.objects.open()
        .filter(pilot_id__in=ids)
        .values("pilot_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("pilot_id", "n")
    )
    rows = []
    for pilot in running:
        answered = rounds.get(pilot.pk, [])
        evaluations = [evidence.evaluate_metric(m, answered) for m in metrics.get(pilot.pk, [])]
        advice = evidence.recommend(
            evaluations, breaches.get(pilot.pk, 0), has_evidence=bool(answered)
        )
        if advice is None or advice.action == evidence.Recommendation.KEEP_GOING:
            continue
        rows.append({"pilot": pilot, "banner": _from_advice(advice, evaluations)})
    return rows[:limit], len(rows)
