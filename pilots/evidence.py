"""Success-metric statuses and evidence snapshots (see the evidence issue).

Interim implementation: until results exist every metric is inconclusive for lack of
responses. The evidence work replaces the body of these functions, keeping their signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models import Pilot, SuccessMetric


class MetricStatus:
    MET = "met"
    NOT_MET = "not_met"
    INCONCLUSIVE = "inconclusive"


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


def metric_statuses(pilot: Pilot) -> list[MetricEvaluation]:
    """Judge each success metric of a pilot over its recent closed rounds."""
    return [
        MetricEvaluation(m, MetricStatus.INCONCLUSIVE, _("No evidence yet."), False)
        for m in pilot.metrics.all()
    ]


def evidence_snapshot(pilot: Pilot) -> dict:
    """Return the evidence as it stands, to be stored with a decision."""
    return {
        "metrics": [
            {"metric": e.metric.name, "status": e.status, "reason": e.reason, "n": e.n,
             "estimate": e.estimate, "ci": [e.ci_low, e.ci_high]}
            for e in metric_statuses(pilot)
        ],
        "open_breaches": pilot.breaches.open().count(),
    }


def page_context(pilot: Pilot) -> dict:
    """Context for templates/pilots/_evidence.html on the pilot page."""
    return {"metric_evaluations": metric_statuses(pilot)}


def portfolio_context(pilots) -> dict:
    """Context for templates/pilots/_portfolio_evidence.html on the portfolio."""
    return {}
