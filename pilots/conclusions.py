"""A pilot's conclusion: what Ops record when a stop, a retirement or a promotion to approved
standard ends the experiment.

`pilots.lifecycle.move` is the only caller of `record`, inside its transaction, so a concluding
move and its conclusion (and their change records) commit or roll back together. Adapters
build `Findings` from their input and hand it to `move(..., conclusion=...)`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import ValidationFailed

from . import approvals
from .approvals import Scope
from .models import Conclusion, Pilot, Stage, StageChange

# The outcomes that fit where a concluding move takes the pilot: an approved standard was
# adopted; a stopped or retired pilot was not (or nobody could tell).
ADOPTED_OUTCOMES = (Conclusion.Outcome.ADOPTED, Conclusion.Outcome.ADOPTED_WITH_CONDITIONS)
OUTCOMES_BY_TARGET = {
    Stage.APPROVED: ADOPTED_OUTCOMES,
    Stage.STOPPED: (
        Conclusion.Outcome.NO_VALUE,
        Conclusion.Outcome.RISK,
        Conclusion.Outcome.INCONCLUSIVE,
    ),
    Stage.RETIRED: (
        Conclusion.Outcome.NO_VALUE,
        Conclusion.Outcome.RISK,
        Conclusion.Outcome.INCONCLUSIVE,
    ),
}
FIELDS = ["outcome", "takeaways", "recommendations", "stage_change", "concluded_by"]


@dataclass(frozen=True)
class Findings:
    """What Ops write to conclude a pilot (not yet checked: `clean` does)."""

    outcome: str
    takeaways: str
    recommendations: tuple[str, ...] = field(default_factory=tuple)
    # A promotion to approved standard also records what it is approved for
    # (pilots.approvals.Scope, checked and written by the lifecycle).
    approval: Scope | None = None

    @classmethod
    def build(
        cls,
        *,
        outcome: str,
        takeaways: str,
        recommendations: Iterable[str] = (),
        approval: Scope | Mapping[str, Any] | None = None,
    ) -> Findings:
        if isinstance(approval, Mapping):
            # As an API posts it: the fields of approvals.Scope.
            approval = approvals.Scope.build(**approval)
        return cls(outcome or "", takeaways or "", tuple(recommendations or ()), approval)


def concludes(target: str | None) -> bool:
    """Tell whether a move to this stage concludes the pilot (and needs a conclusion)."""
    return target in OUTCOMES_BY_TARGET


def clean(findings: Findings | None, *, target: str) -> Findings:
    """Check findings for a move to `target`; return them trimmed and de-duplicated.

    Raises ValidationFailed with the field at fault: conclusion (missing), outcome,
    takeaways, recommendations.
    """
    if findings is None:
        raise ValidationFailed(
            _("Record a conclusion: the outcome, the takeaways and your recommendations."),
            code="conclusion_required",
            field="conclusion",
        )
    if findings.outcome not in Conclusion.Outcome.values:
        raise ValidationFailed(_("Choose an outcome."), code="outcome_required", field="outcome")
    allowed = OUTCOMES_BY_TARGET[target]
    if findings.outcome not in allowed:
        raise ValidationFailed(
            _(
                "The outcome “%(outcome)s” does not fit a move to %(stage)s; choose one of: "
                "%(allowed)s."
            )
            % {
                "outcome": Conclusion.Outcome(findings.outcome).label,
                "stage": Stage(target).label,
                "allowed": ", ".join(str(Conclusion.Outcome(o).label) for o in allowed),
            },
            code="outcome_contradicts_move",
            field="outcome",
        )
    takeaways = findings.takeaways.strip()
    if not takeaways:
        raise ValidationFailed(
            _("Write the takeaways: what this pilot taught, in a few sentences."),
            code="takeaways_required",
            field="takeaways",
        )
    unknown = [r for r in findings.recommendations if r not in Conclusion.Recommendation.values]
    if unknown:
        raise ValidationFailed(
            _("Unknown recommendation: %(values)s.") % {"values": ", ".join(map(str, unknown))},
            code="unknown_recommendation",
            field="recommendations",
        )
    # In the order the choices list them, each once.
    chosen = [r for r in Conclusion.Recommendation.values if r in findings.recommendations]
    return Findings(findings.outcome, takeaways, tuple(chosen), findings.approval)


def record(
    pilot: Pilot,
    *,
    change: StageChange,
    findings: Findings,
    actor,
    now: datetime.datetime,
) -> Conclusion:
    """Write (or replace) the pilot's conclusion and its change record; `move` calls it.

    `findings` are already `clean`. A pilot concluded before (an approved standard now
    retired) keeps one conclusion, the latest; the change record keeps what it said before.
    """
    existing = Conclusion.objects.select_for_update().filter(pilot=pilot).first()
    before = changelog.snapshot(existing, FIELDS) if existing else {}
    conclusion = existing or Conclusion(pilot=pilot)
    conclusion.stage_change = change
    conclusion.outcome = findings.outcome
    conclusion.takeaways = findings.takeaways
    conclusion.recommendations = list(findings.recommendations)
    conclusion.concluded_by = actor
    conclusion.concluded_at = now
    conclusion.save()
    changelog.record(
        "pilot.concluded",
        subject=conclusion,
        scope=pilot,
        actor=actor,
        changes=changelog.diff(before, changelog.snapshot(conclusion, FIELDS)),
        reason=findings.takeaways,
        at=now,
    )
    return conclusion
