"""The stage lifecycle: the only place where a pilot's stage changes.

Web views, admin actions, the API and Celery tasks all call `move`. Each move runs in its own
transaction, locks the pilot row, re-checks the stage the caller saw, checks permission, the
four-eyes rule and the gates, then writes the pilot and an append-only StageChange.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import changelog, followups
from core.exceptions import (
    GateFailed,
    IllegalTransition,
    PermissionRefused,
    StageChangedMeanwhile,
    ValidationFailed,
)

from . import access, approvals, conclusions
from .breach_text import describe as _describe_breach
from .models import ACTIVE_STAGES, Pilot, Review, Stage, StageChange
from .registry import validate_tool_and_data

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .models import GuardrailBreach


# The follow-up cause a stage move announces (core.followups): subscribers get the change's id.
STAGE_CHANGED = "stage_changed"


class Action:
    SUBMIT = "submit"
    APPROVE = "approve"
    SEND_BACK = "send_back"
    REJECT = "reject"
    PROMOTE = "promote"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    RETIRE = "retire"


ACTION_LABELS = {
    Action.SUBMIT: gettext_lazy("Submit for review"),
    Action.APPROVE: gettext_lazy("Approve"),
    Action.SEND_BACK: gettext_lazy("Send back"),
    Action.REJECT: gettext_lazy("Reject"),
    Action.PROMOTE: gettext_lazy("Promote"),
    Action.PAUSE: gettext_lazy("Pause"),
    Action.RESUME: gettext_lazy("Resume"),
    Action.STOP: gettext_lazy("Stop"),
    Action.RETIRE: gettext_lazy("Retire"),
}


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str | None  # None: back to the stage the pilot was paused from
    ops_only: bool = True
    four_eyes: bool = False
    rationale_required: bool = False
    gate: str | None = None
    records_evidence: bool = False
    # Ends the experiment: the move records a conclusion (pilots.conclusions).
    concludes: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.SUBMIT, Stage.DRAFT, Stage.PROPOSED, ops_only=False),
    Transition(Action.APPROVE, Stage.PROPOSED, Stage.SANDBOX, four_eyes=True),
    Transition(Action.SEND_BACK, Stage.PROPOSED, Stage.DRAFT, rationale_required=True),
    Transition(Action.REJECT, Stage.PROPOSED, Stage.STOPPED, rationale_required=True),
    Transition(
        Action.PROMOTE,
        Stage.SANDBOX,
        Stage.PILOT,
        four_eyes=True,
        gate="to_pilot",
        records_evidence=True,
    ),
    Transition(
        Action.PROMOTE,
        Stage.PILOT,
        Stage.APPROVED,
        four_eyes=True,
        gate="to_approved",
        records_evidence=True,
        concludes=True,
    ),
    *(
        Transition(Action.PAUSE, s, Stage.PAUSED, rationale_required=True, records_evidence=True)
        for s in ACTIVE_STAGES
    ),
    Transition(Action.RESUME, Stage.PAUSED, None),
    *(
        Transition(
            Action.STOP,
            s,
            Stage.STOPPED,
            rationale_required=True,
            records_evidence=True,
            concludes=True,
        )
        for s in (Stage.SANDBOX, Stage.PILOT, Stage.PAUSED)
    ),
    Transition(
        Action.RETIRE, Stage.APPROVED, Stage.RETIRED, rationale_required=True, concludes=True
    ),
)
_BY_KEY = {(t.action, t.source): t for t in TRANSITIONS}
# Entering these stages re-checks that the tool is allowed and may receive the pilot's data.
ENTRY_CHECKED_STAGES = (Stage.PROPOSED, Stage.SANDBOX, Stage.PILOT, Stage.APPROVED)


# What a draft must hold before it is submitted, checked inside every submit move. Registered
# by the modules that own those rules (pilots.apps: proposals.check_submittable), so the
# lifecycle needs no import of them and no adapter can submit around them.
_submission_checks: list[Callable[[Pilot], None]] = []


def register_submission_check(check: Callable[[Pilot], None]) -> None:
    if check not in _submission_checks:
        _submission_checks.append(check)


# What else a move writes in its transaction, registered by the modules that own it
# (pilots.apps: decision_requests.close_open answers a lead's open request).
_after_move: list[Callable[..., object]] = []


def register_after_move(hook: Callable[..., object]) -> None:
    if hook not in _after_move:
        _after_move.append(hook)


# What the evidence says lives above the lifecycle (decisions.evidence): the criterion "every
# success metric met" and the snapshot a stage change keeps are registered from there
# (decisions.apps), so moving a stage needs no upward import.
_evidence_providers: dict[str, Callable[[Pilot], object]] = {}


def register_evidence(
    *,
    metrics_met: Callable[[Pilot], list[GateResult]],
    snapshot: Callable[[Pilot], dict],
) -> None:
    _evidence_providers.update(metrics_met=metrics_met, snapshot=snapshot)


def _evidence(name: str) -> Callable:
    try:
        return _evidence_providers[name]
    except KeyError:
        raise ImproperlyConfigured(
            "No evidence provider is registered: decisions.apps.DecisionsConfig.ready registers "
            "them."
        ) from None


def _check_submission(pilot: Pilot) -> None:
    if not _submission_checks:
        raise ImproperlyConfigured(
            "No submission check is registered: pilots.apps.PilotsConfig.ready registers them."
        )
    for check in _submission_checks:
        check(pilot)


def transitions_from(stage: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == stage]


def find_transition(stage: str, action: str) -> Transition:
    """Return the transition an action makes from a stage, or raise IllegalTransition."""
    try:
        return _BY_KEY[(action, stage)]
    except KeyError:
        allowed = ", ".join(str(ACTION_LABELS[t.action]) for t in transitions_from(stage))
        raise IllegalTransition(
            _(
                "“%(action)s” is not possible from the stage %(stage)s. Allowed from here: "
                "%(allowed)s."
            )
            % {
                "action": ACTION_LABELS.get(action, action),
                "stage": Stage(stage).label,
                "allowed": allowed or _("nothing (this stage is final)"),
            },
            field="stage",
        ) from None


# ---------------------------------------------------------------------------------------------
# Gates


class GateStatus:
    PASSED = "passed"
    FAILED = "failed"
    NO_EVIDENCE = "no_evidence"


# The gate vocabulary every page and message uses. The keys are stored in StageChange
# snapshots and answered by the API, so they never change; only these words are shown.
GATE_STATUS_LABELS = {
    GateStatus.PASSED: gettext_lazy("passed"),
    GateStatus.FAILED: gettext_lazy("failed"),
    GateStatus.NO_EVIDENCE: gettext_lazy("no evidence yet"),
}


@dataclass(frozen=True)
class GateResult:
    """One criterion of a gate: a neutral label (what is checked) and its status."""

    key: str
    label: str
    status: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == GateStatus.PASSED

    @property
    def status_label(self) -> str:
        return str(GATE_STATUS_LABELS[self.status])

    def as_dict(self) -> dict:
        return asdict(self)


def _no_open_breach(pilot: Pilot) -> GateResult:
    count = pilot.breaches.open().count()
    label = _("No open guardrail breach")
    if count:
        return GateResult(
            "no_open_breach",
            label,
            GateStatus.FAILED,
            _("%(count)d open breach(es).") % {"count": count},
        )
    return GateResult("no_open_breach", label, GateStatus.PASSED)


def _closed_round_with_half_responding(pilot: Pilot) -> GateResult:
    label = _("At least one closed feedback round with a response rate of 50% or more")
    # A round nobody was invited to says nothing about the response rate.
    rounds = [
        (invited, responded)
        for invited, responded in pilot.rounds.closed().values_list(
            "invited_count", "response_count"
        )
        if invited
    ]
    if not rounds:
        return GateResult(
            "closed_round", label, GateStatus.NO_EVIDENCE, _("No feedback round has closed yet.")
        )
    # Integer comparison: 2 × responses ≥ invited, no float rounding at the 50% edge.
    invited, responded = max(rounds, key=lambda r: Fraction(r[1], r[0]))
    # Floor, so a rate shown as 50% is never one that failed.
    detail = _("Best response rate: %(rate)d%% (%(responded)d of %(invited)d).") % {
        "rate": responded * 100 // invited,
        "responded": responded,
        "invited": invited,
    }
    if 2 * responded >= invited:
        return GateResult("closed_round", label, GateStatus.PASSED, detail)
    return GateResult("closed_round", label, GateStatus.FAILED, detail)


def _review_cleared(pilot: Pilot, kind: str) -> GateResult:
    label = _("%(kind)s review") % {"kind": Review.Kind(kind).label}
    # Reviews are ordered newest first: the latest review of a kind is the one that counts.
    latest = pilot.reviews.filter(kind=kind).first()
    if latest is None:
        return GateResult(
            f"{kind}_review",
            label,
            GateStatus.NO_EVIDENCE,
            _("No %(kind)s review recorded.") % {"kind": Review.Kind(kind).label},
        )
    if latest.outcome in Review.CLEARING_OUTCOMES:
        return GateResult(f"{kind}_review", label, GateStatus.PASSED, latest.get_outcome_display())
    return GateResult(f"{kind}_review", label, GateStatus.FAILED, latest.get_outcome_display())


def _metrics_met(pilot: Pilot) -> list[GateResult]:
    return _evidence("metrics_met")(pilot)


def criterion_with_status(result: GateResult) -> str:
    """Name a criterion with its status, e.g. “Security review: no evidence yet”."""
    return _("%(criterion)s: %(status)s") % {
        "criterion": result.label,
        "status": result.status_label,
    }


def evaluate_gates(pilot: Pilot, gate: str | None) -> list[GateResult]:
    """Check the named criteria of a gate; an empty list means the move has no gate."""
    if gate == "to_pilot":
        return [_closed_round_with_half_responding(pilot), _no_open_breach(pilot)]
    if gate == "high_risk_reviews":
        return [
            _review_cleared(pilot, Review.Kind.SECURITY),
            _review_cleared(pilot, Review.Kind.LEGAL),
        ]
    if gate == "to_approved":
        return [
            *_metrics_met(pilot),
            _no_open_breach(pilot),
            _review_cleared(pilot, Review.Kind.SECURITY),
            _review_cleared(pilot, Review.Kind.LEGAL),
        ]
    return []


def gate_of(pilot: Pilot, transition: Transition) -> str | None:
    """The gate a move passes: its transition's, or both reviews to take a high-risk pilot
    into the sandbox (EU AI Act Art. 6: reviewed before any real use, not only at approval)."""
    if transition.action == Action.APPROVE and pilot.risk_level == Pilot.RiskLevel.HIGH:
        return "high_risk_reviews"
    return transition.gate


def gates_for(pilot: Pilot, action: str) -> list[GateResult]:
    """Gate results for an action from the pilot's current stage (for intermediate pages)."""
    return evaluate_gates(pilot, gate_of(pilot, find_transition(pilot.stage, action)))


# ---------------------------------------------------------------------------------------------
# Permission


def _check_permission(
    pilot: Pilot, transition: Transition, actor, *, proposer_ids: set[int] | None = None
) -> None:
    if actor is None:
        # The system acts only to pause a pilot whose guardrail broke.
        if transition.action != Action.PAUSE:
            raise PermissionRefused(_("Only a person can make this move."))
        return
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionRefused(_("Sign in with an active account to make this move."))
    if not access.may_move(actor, pilot, ops_only=transition.ops_only):
        if transition.ops_only:
            raise PermissionRefused(_("Only Ops can make this move."))
        raise PermissionRefused(_("Only the pilot's lead or Ops can submit it."))
    if transition.four_eyes:
        if proposer_ids is None:
            proposer_ids = proposers(pilot)
        if actor.pk in proposer_ids:
            raise PermissionRefused(
                _("Four eyes: whoever proposed or leads a pilot cannot approve or promote it.")
            )


def proposers(pilot: Pilot) -> set[int]:
    """Ids of the lead and of everyone who ever submitted the pilot (it may be sent back)."""
    return proposers_of([pilot])[pilot.pk]


def proposers_of(pilots: list[Pilot]) -> dict[int, set[int]]:
    """`proposers` of several pilots in one query, by pilot id (for pages listing many)."""
    found = {p.pk: {p.lead_id, p.proposed_by_id} - {None} for p in pilots}
    submitters = StageChange.objects.filter(
        pilot__in=[p.pk for p in pilots], action=Action.SUBMIT, actor__isnull=False
    ).values_list("pilot_id", "actor_id")
    for pilot_id, actor_id in submitters:
        found[pilot_id].add(actor_id)
    return found


def allowed_actions(pilot: Pilot, user) -> list[Transition]:
    """The moves this user could attempt now (gates are checked when they do)."""
    allowed = []
    if user is not None and not user.is_authenticated:
        return allowed
    for t in transitions_from(pilot.stage):
        try:
            _check_permission(pilot, t, user)
        except PermissionRefused:
            continue
        allowed.append(t)
    return allowed


def check_move(
    pilot: Pilot, action: str, *, actor, proposer_ids: set[int] | None = None
) -> Transition:
    """Refuse now what `move` would refuse whatever the rationale or override; else return
    the transition.

    For pages that offer a move: an illegal move (IllegalTransition), a move this user may
    not make, four eyes included (PermissionRefused), or a tool that may not take the pilot
    (ValidationFailed). `proposer_ids` (from `proposers_of`) saves a query per pilot. `move`
    makes the same checks again under its row lock.
    """
    transition = find_transition(pilot.stage, action)
    _check_permission(pilot, transition, actor, proposer_ids=proposer_ids)
    _check_tool(pilot, transition)
    return transition


def _check_tool(pilot: Pilot, transition: Transition) -> None:
    if transition.target in ENTRY_CHECKED_STAGES:
        # The tool may have been re-classified or banned since the pilot was written.
        validate_tool_and_data(pilot.tool, pilot.data_classification)


# ---------------------------------------------------------------------------------------------
# The move


def move(
    pilot_id: int,
    action: str,
    *,
    actor: AbstractBaseUser | None,
    expected_stage: str,
    rationale: str = "",
    override: bool = False,
    breach: GuardrailBreach | None = None,
    now: datetime.datetime | None = None,
    conclusion: conclusions.Findings | None = None,
    budget: dict | None = None,
) -> StageChange:
    """Move a pilot by an action, from the stage the caller saw, and record it.

    Raises StageChangedMeanwhile if the stage is no longer `expected_stage` (another Ops moved
    it first), IllegalTransition, PermissionRefused, ValidationFailed (missing rationale) or
    GateFailed (a criterion not passed and no override with a rationale).

    `now` dates a move that happened earlier, for recording a past history (the demo data):
    the same checks and gates run, against the data as it stands. It may be neither in the
    future (code move_in_future) nor before the pilot's last stage change
    (move_before_last_change), so a history stays in order. People's moves leave it unset.

    A move that concludes the pilot (stop, retire, promote to approved standard) needs a
    `conclusion` (ValidationFailed with the field conclusion, outcome, takeaways or
    recommendations otherwise) and writes it with the stage change; any other move refuses one.

    The system (actor None) only pauses, and only for a `breach` or for its budget guardrail
    (`budget`: the projected cost and cap it saw, kept in the move's evidence; pilots.budget).
    """
    rationale = (rationale or "").strip()
    if expected_stage not in Stage.values:
        raise ValidationFailed(
            _("Unknown stage: %(stage)s.") % {"stage": expected_stage},
            code="unknown_stage",
            field="expected_stage",
        )
    if action not in ACTION_LABELS:
        raise ValidationFailed(
            _("Unknown action: %(action)s.") % {"action": action},
            code="unknown_action",
            field="action",
        )
    if actor is None and breach is None and budget is None:
        raise PermissionRefused(_("The system moves a pilot only because a guardrail broke."))
    if breach is not None and not rationale:
        # A system pause always says why, even when the breach carries no detail.
        rationale = _describe_breach(breach)
    dated = now is not None
    approval: approvals.Scope | None = None
    if dated and now > timezone.now():
        raise ValidationFailed(
            _("A stage change cannot be dated in the future."), code="move_in_future", field="now"
        )
    with transaction.atomic():
        # The row lock serialises concurrent moves; the re-check below makes the loser fail.
        pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        if pilot.stage != expected_stage:
            raise StageChangedMeanwhile(
                expected=Stage(expected_stage).label, actual=Stage(pilot.stage).label
            )
        if dated and now < pilot.stage_changed_at:
            raise ValidationFailed(
                _("A stage change cannot be dated before the pilot's last one (%(last)s).")
                % {
                    "last": formats.date_format(
                        timezone.localtime(pilot.stage_changed_at), "SHORT_DATETIME_FORMAT"
                    )
                },
                code="move_before_last_change",
                field="now",
            )
        transition = find_transition(pilot.stage, action)
        _check_permission(pilot, transition, actor)
        if breach is not None and breach.pilot_id != pilot.pk:
            raise ValidationFailed(
                _("This breach belongs to another pilot."),
                code="breach_of_another_pilot",
                field="breach",
            )
        if transition.action == Action.SUBMIT:
            _check_submission(pilot)
        if transition.rationale_required and not rationale:
            raise ValidationFailed(
                _("Give a reason for this move."), code="rationale_required", field="rationale"
            )
        _check_tool(pilot, transition)
        gate_results = evaluate_gates(pilot, gate_of(pilot, transition))
        failing = [g for g in gate_results if not g.passed]
        if failing:
            if not override:
                raise GateFailed(
                    _("The gate is not passed: %(criteria)s.")
                    % {"criteria": "; ".join(criterion_with_status(g) for g in failing)},
                    results=gate_results,
                )
            if not rationale:
                raise ValidationFailed(
                    _("Overriding a failing gate needs a written rationale."),
                    code="override_rationale_required",
                    field="rationale",
                )
        # After the gates: a refused gate is what Ops need to hear first.
        if transition.concludes:
            conclusion = conclusions.clean(conclusion, target=transition.target)
            if transition.target == Stage.APPROVED:
                # A standard says what it is approved for (pilots.approvals).
                approval = approvals.clean(
                    conclusion.approval, pilot=pilot, today=timezone.localdate(now)
                )
        elif conclusion is not None:
            raise ValidationFailed(
                _(
                    "Only stopping, retiring or promoting to approved standard records a "
                    "conclusion."
                ),
                code="conclusion_not_expected",
                field="conclusion",
            )
        target = transition.target or pilot.paused_from
        now = now if dated else timezone.now()
        source = pilot.stage
        pilot.paused_from = source if target == Stage.PAUSED else ""
        pilot.stage = target
        pilot.stage_changed_at = now
        update_fields = ["stage", "paused_from", "stage_changed_at", "updated_at"]
        if action == Action.SUBMIT:
            pilot.proposed_by = actor
            update_fields.append("proposed_by")
        pilot.save(update_fields=update_fields)
        snapshot = _evidence("snapshot")(pilot) if transition.records_evidence else {}
        if breach is not None:
            snapshot["breach"] = breach.pk
        if budget is not None:
            snapshot["budget"] = budget
        change = StageChange.objects.create(
            pilot=pilot,
            action=action,
            from_stage=source,
            to_stage=target,
            actor=actor,
            created_at=now,
            rationale=rationale,
            gate_results=[g.as_dict() for g in gate_results],
            overridden=bool(failing),
            evidence=snapshot,
        )
        # StageChange keeps the gates and the evidence; the change record puts the move in the
        # one history of everything that changed about the pilot.
        changes: dict[str, list] = {"stage": [source, target]}
        if failing:
            changes["overridden"] = [False, True]
        changelog.record(
            f"stage.{action}",
            subject=pilot,
            scope=pilot,
            actor=actor,
            changes=changes,
            reason=rationale,
            at=now,
        )
        if conclusion is not None:
            conclusions.record(pilot, change=change, findings=conclusion, actor=actor, now=now)
        if approval is not None:
            approvals.record(pilot, change=change, scope=approval, actor=actor, now=now)
        for hook in _after_move:
            hook(pilot, change=change, actor=actor, now=now)
        if not dated:
            # Whoever listens (notifications) hears of it after commit; a past history being
            # recorded (the demo's) is not news.
            followups.announce(
                STAGE_CHANGED,
                key=f"stage_change:{change.pk}",
                payload={"stage_change_id": change.pk},
            )
        return change
