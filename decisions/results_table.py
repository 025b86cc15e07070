"""Results at a glance: one table per pilot, a row per success metric and metric guardrail.

Every figure comes from decisions.evidence — a metric's pooled estimate and interval (rounds
withheld under the anonymity threshold contribute nothing), a guardrail's statistic from the
newest round with checks (recorded only for rounds that met the threshold) — never from raw
answers. The change from the baseline is drawn for each metric with a baseline on one shared
axis, in percent of its baseline, so metrics on different scales can be compared at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

from pilots.models import Guardrail

from . import charts

if TYPE_CHECKING:
    from .evidence import GuardrailStatus, MetricEvaluation

COMPARATOR_SIGNS = dict(Guardrail.Comparator.choices)


@dataclass(frozen=True)
class Row:
    kind: str  # "metric" or "guardrail"
    key: str
    name: str
    baseline: float | None
    estimate: float | None
    low: float | None
    high: float | None
    target: str  # "≥ 4", "< 0.2"
    change: float | None  # estimate − baseline
    change_percent: float | None
    status: str
    status_label: str
    to_decide: str = ""
    bar: SafeString | None = None
    # Machine-readable target (the API): its value, and "higher"/"lower" for a metric or the
    # guardrail's comparator (lt, le, eq, ge, gt).
    target_value: float | None = None
    comparator: str = ""


def _percent(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return (value - baseline) / abs(baseline) * 100.0


def table(
    evaluations: list[MetricEvaluation],
    guardrails: list[Guardrail],
    statuses: dict[int, GuardrailStatus],
) -> dict:
    """The rows and the shared axis of a pilot's results table (no query)."""
    drawable = []
    for e in evaluations:
        baseline = float(e.metric.baseline) if e.metric.baseline is not None else None
        if baseline and e.estimate is not None:
            drawable.extend(
                v
                for v in (
                    _percent(e.estimate, baseline),
                    _percent(e.ci_low, baseline),
                    _percent(e.ci_high, baseline),
                    _percent(float(e.metric.target), baseline),
                )
                if v is not None
            )
    axis = charts.change_axis(drawable)
    rows = []
    for e in evaluations:
        metric = e.metric
        baseline = float(metric.baseline) if metric.baseline is not None else None
        target = float(metric.target)
        bar = None
        if axis is not None and baseline and e.estimate is not None:
            bar = charts.interval_bar(
                f"result-bar-{metric.pk}",
                axis,
                name=metric.name,
                estimate=_percent(e.estimate, baseline),
                low=_percent(e.ci_low, baseline),
                high=_percent(e.ci_high, baseline),
                target=_percent(target, baseline),
            )
        rows.append(
            Row(
                kind="metric",
                key=f"metric-{metric.pk}",
                name=metric.name,
                baseline=baseline,
                estimate=e.estimate,
                low=e.ci_low,
                high=e.ci_high,
                target=("≤ " if metric.direction == metric.Direction.LOWER else "≥ ")
                + charts.number(target),
                change=e.estimate - baseline
                if e.estimate is not None and baseline is not None
                else None,
                change_percent=_percent(e.estimate, baseline),
                status=e.status,
                status_label=e.status_label,
                to_decide=e.to_decide_reason,
                bar=bar,
                target_value=target,
                comparator=metric.direction,
            )
        )
    for g in guardrails:
        status = statuses.get(g.pk)
        if g.kind != Guardrail.Kind.METRIC or g.disabled_at is not None or status is None:
            continue
        rows.append(
            Row(
                kind="guardrail",
                key=f"guardrail-{g.pk}",
                name=g.description,
                baseline=None,
                estimate=status.observed,
                low=None,
                high=None,
                target=f"{COMPARATOR_SIGNS.get(g.comparator, g.comparator)} "
                + (charts.number(float(g.threshold)) if g.threshold is not None else "–"),
                change=None,
                change_percent=None,
                status=status.outcome,
                status_label=status.label,
                target_value=float(g.threshold) if g.threshold is not None else None,
                comparator=g.comparator,
            )
        )
    return {
        "rows": rows,
        "axis": charts.change_axis_svg(axis) if axis is not None else None,
    }
