"""The stage lifecycle: every move allowed or refused, four eyes, gates, overrides, audit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import (
    GateFailed,
    IllegalTransition,
    PermissionRefused,
    StageChangedMeanwhile,
    ValidationFailed,
)
from decisions import evidence
from pilots import access, breach_text, lifecycle
from pilots.lifecycle import Action, GateResult, GateStatus
from pilots.models import AITool, GuardrailBreach, Pilot, Review, Stage, StageChange
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MembershipFactory,
    OpsUserFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
    UserFactory,
    findings_for,
)

pytestmark = pytest.mark.django_db

ALL_ACTIONS = [
    Action.SUBMIT,
    Action.APPROVE,
    Action.SEND_BACK,
    Action.REJECT,
    Action.PROMOTE,
    Action.PAUSE,
    Action.RESUME,
    Action.STOP,
    Action.RETIRE,
]

# The moves the issue allows, and nothing else: (stage, action) -> stage reached.
ALLOWED = {
    (Stage.DRAFT, Action.SUBMIT): Stage.PROPOSED,
    (Stage.PROPOSED, Action.APPROVE): Stage.SANDBOX,
    (Stage.PROPOSED, Action.SEND_BACK): Stage.DRAFT,
    (Stage.PROPOSED, Action.REJECT): Stage.STOPPED,
    (Stage.SANDBOX, Action.PROMOTE): Stage.PILOT,
    (Stage.PILOT, Action.PROMOTE): Stage.APPROVED,
    (Stage.SANDBOX, Action.PAUSE): Stage.PAUSED,
    (Stage.PILOT, Action.PAUSE): Stage.PAUSED,
    (Stage.APPROVED, Action.PAUSE): Stage.PAUSED,
    (Stage.PAUSED, Action.RESUME): Stage.PILOT,  # paused from pilot in these tests
    (Stage.SANDBOX, Action.STOP): Stage.STOPPED,
    (Stage.PILOT, Action.STOP): Stage.STOPPED,
    (Stage.PAUSED, Action.STOP): Stage.STOPPED,
    (Stage.APPROVED, Action.RETIRE): Stage.RETIRED,
}
MATRIX = [(s, a) for s in Stage.values for a in ALL_ACTIONS]


def make_pilot(stage: str = Stage.DRAFT, **kwargs) -> Pilot:
    if stage == Stage.PAUSED:
        kwargs.setdefault("paused_from", Stage.PILOT)
    if stage == Stage.DRAFT:
        kwargs.setdefault("complete", True)  # submittable: a metric, a guardrail, a person
    return PilotFactory(stage=stage, **kwargs)


def close_round(pilot: Pilot, *, invited: int, responded: int, days_ago: int = 7):
    now = timezone.now()
    return FeedbackRoundFactory(
        pilot=pilot,
        period_start=timezone.localdate() - datetime.timedelta(days=days_ago),
        opens_at=now - datetime.timedelta(days=days_ago),
        closes_at=now - datetime.timedelta(days=days_ago - 3),
        status="closed",
        closed_at=now - datetime.timedelta(days=days_ago - 3),
        invited_count=invited,
        response_count=responded,
    )


def open_breach(pilot: Pilot) -> GuardrailBreach:
    return GuardrailBreach.objects.create(
        guardrail=GuardrailFactory(pilot=pilot),
        pilot=pilot,
        detail="Customer data pasted into the tool.",
    )


def fake_metric_statuses(monkeypatch, *evaluations: tuple[str, bool]) -> None:
    """Make evidence judge the pilot's metrics as given: (status, enough_responses) each."""

    def metric_statuses(pilot, **kwargs):
        metrics = list(pilot.metrics.all())
        return [
            evidence.MetricEvaluation(m, status, enough)
            for m, (status, enough) in zip(metrics, evaluations, strict=True)
        ]

    monkeypatch.setattr(evidence, "metric_statuses", metric_statuses)


def ready_for_approval(
    pilot: Pilot, monkeypatch, reviewer, kinds: tuple[str, ...] = tuple(Review.Kind)
) -> None:
    SuccessMetricFactory(pilot=pilot)
    fake_metric_statuses(monkeypatch, (evidence.MetricStatus.MET, True))
    for kind in kinds:
        ReviewFactory(pilot=pilot, kind=kind, reviewer=reviewer)


def statuses(results) -> dict[str, str]:
    return {
        r["key"] if isinstance(r, dict) else r.key: r["status"] if isinstance(r, dict) else r.status
        for r in results
    }


def assert_untouched(pilot: Pilot) -> None:
    before = (pilot.stage, pilot.paused_from, pilot.stage_changed_at, pilot.proposed_by_id)
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from, pilot.stage_changed_at, pilot.proposed_by_id) == before
    assert not StageChange.objects.filter(pilot=pilot).exists()


# --- The full matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "action"), sorted(ALLOWED))
def test_every_allowed_move_reaches_its_stage_and_is_recorded(stage, action, lead, team, ops2):
    pilot = make_pilot(stage, lead=lead, team=team)
    actor = lead if action == Action.SUBMIT else ops2
    # Gated moves are overridden here: the gates have their own tests below.
    change = lifecycle.move(
        pilot.pk,
        action,
        actor=actor,
        expected_stage=stage,
        rationale="Reason given.",
        override=True,
        conclusion=findings_for(stage, action),
    )
    pilot.refresh_from_db()
    assert pilot.stage == ALLOWED[(stage, action)]
    assert (change.from_stage, change.to_stage, change.action) == (
        stage,
        ALLOWED[(stage, action)],
        action,
    )
    assert change.actor == actor
    assert pilot.stage_changed_at == change.created_at
    assert pilot.paused_from == (stage if pilot.stage == Stage.PAUSED else "")


@pytest.mark.parametrize(("stage", "action"), [m for m in MATRIX if m not in ALLOWED])
def test_every_forbidden_move_is_refused_naming_the_stage_and_the_allowed_moves(
    stage, action, lead, team, ops2
):
    pilot = make_pilot(stage, lead=lead, team=team)
    actor = lead if action == Action.SUBMIT else ops2
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.move(
            pilot.pk,
            action,
            actor=actor,
            expected_stage=stage,
            rationale="Reason given.",
            override=True,
        )
    assert refused.value.code == "illegal_transition"
    assert refused.value.field == "stage"
    message = str(refused.value)
    assert str(Stage(stage).label) in message
    allowed_here = [str(lifecycle.ACTION_LABELS[a]) for (s, a) in ALLOWED if s == stage]
    for label in allowed_here:
        assert label in message
    if not allowed_here:
        assert "final" in message
    assert_untouched(pilot)


def test_the_transition_table_is_exactly_the_allowed_moves():
    table = {(t.source, t.action) for t in lifecycle.TRANSITIONS}
    assert table == set(ALLOWED)


@pytest.mark.parametrize("paused_from", [Stage.SANDBOX, Stage.PILOT, Stage.APPROVED])
def test_resume_returns_to_the_stage_the_pilot_was_paused_from(paused_from, ops):
    pilot = make_pilot(paused_from)
    lifecycle.move(
        pilot.pk,
        Action.PAUSE,
        actor=ops,
        expected_stage=paused_from,
        rationale="Incident under investigation.",
    )
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from) == (Stage.PAUSED, paused_from)
    change = lifecycle.move(pilot.pk, Action.RESUME, actor=ops, expected_stage=Stage.PAUSED)
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from) == (paused_from, "")
    assert change.to_stage == paused_from


# --- Who may move ------------------------------------------------------------------------------


def test_a_lead_submits_a_draft_and_becomes_its_proposer(lead, team):
    pilot = make_pilot(lead=lead, team=team)
    change = lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PROPOSED
    assert pilot.proposed_by == lead
    assert StageChange.objects.get() == change


def test_another_lead_of_the_team_may_submit_the_draft(lead, team):
    co_lead = UserFactory(username="colead")
    MembershipFactory(team=team, user=co_lead, role="lead")
    pilot = make_pilot(lead=lead, team=team)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=co_lead, expected_stage=Stage.DRAFT)
    pilot.refresh_from_db()
    assert pilot.proposed_by == co_lead


@pytest.mark.parametrize("who", ["participant", "outsider"])
def test_a_member_or_outsider_cannot_submit_a_draft(who, request, lead, team):
    pilot = make_pilot(lead=lead, team=team)
    with pytest.raises(PermissionRefused) as refused:
        lifecycle.move(
            pilot.pk, Action.SUBMIT, actor=request.getfixturevalue(who), expected_stage=Stage.DRAFT
        )
    assert refused.value.code == "permission_denied"
    assert_untouched(pilot)


@pytest.mark.parametrize(
    ("stage", "action"), [(s, a) for (s, a) in sorted(ALLOWED) if a != Action.SUBMIT]
)
def test_a_lead_who_is_not_ops_cannot_make_ops_moves(stage, action, lead, team):
    pilot = make_pilot(stage, lead=lead, team=team)
    with pytest.raises(PermissionRefused):
        lifecycle.move(
            pilot.pk, action, actor=lead, expected_stage=stage, rationale="Reason.", override=True
        )
    assert_untouched(pilot)


def test_an_inactive_ops_account_cannot_move_a_pilot():
    former = OpsUserFactory(username="former", is_active=False)
    pilot = make_pilot(Stage.PROPOSED)
    with pytest.raises(PermissionRefused):
        lifecycle.move(pilot.pk, Action.APPROVE, actor=former, expected_stage=Stage.PROPOSED)
    assert_untouched(pilot)


def test_four_eyes_an_ops_user_who_leads_the_pilot_cannot_approve_it(team):
    ops_lead = OpsUserFactory(username="opslead")
    pilot = make_pilot(Stage.PROPOSED, lead=ops_lead, team=team)
    with pytest.raises(PermissionRefused) as refused:
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops_lead, expected_stage=Stage.PROPOSED)
    assert "Four eyes" in str(refused.value)
    assert_untouched(pilot)


def test_four_eyes_an_ops_user_who_proposed_the_pilot_cannot_approve_it(lead, team, ops, ops2):
    pilot = make_pilot(lead=lead, team=team)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=ops, expected_stage=Stage.DRAFT)
    with pytest.raises(PermissionRefused):
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)
    lifecycle.move(pilot.pk, Action.APPROVE, actor=ops2, expected_stage=Stage.PROPOSED)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX


def test_four_eyes_holds_after_the_pilot_is_sent_back_and_resubmitted_by_someone_else(
    lead, team, ops, ops2
):
    pilot = make_pilot(lead=lead, team=team)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=ops, expected_stage=Stage.DRAFT)
    lifecycle.move(
        pilot.pk,
        Action.SEND_BACK,
        actor=ops2,
        expected_stage=Stage.PROPOSED,
        rationale="Add a guardrail.",
    )
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    with pytest.raises(PermissionRefused):
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)


@pytest.mark.parametrize("stage", [Stage.SANDBOX, Stage.PILOT])
def test_four_eyes_the_proposer_cannot_promote_either(stage, team):
    ops_lead = OpsUserFactory(username="opslead")
    pilot = make_pilot(stage, lead=ops_lead, team=team)
    with pytest.raises(PermissionRefused):
        lifecycle.move(
            pilot.pk,
            Action.PROMOTE,
            actor=ops_lead,
            expected_stage=stage,
            rationale="Mine.",
            override=True,
        )
    assert_untouched(pilot)


def test_the_proposer_who_is_ops_may_still_pause_their_own_pilot(team):
    ops_lead = OpsUserFactory(username="opslead")
    pilot = make_pilot(Stage.PILOT, lead=ops_lead, team=team)
    lifecycle.move(
        pilot.pk, Action.PAUSE, actor=ops_lead, expected_stage=Stage.PILOT, rationale="Incident."
    )
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PAUSED


def test_the_system_pauses_a_pilot_for_a_breach_and_is_recorded_as_nobody():
    pilot = make_pilot(Stage.PILOT)
    breach = open_breach(pilot)
    change = lifecycle.move(
        pilot.pk,
        Action.PAUSE,
        actor=None,
        expected_stage=Stage.PILOT,
        rationale="Guardrail broken.",
        breach=breach,
    )
    assert change.actor is None
    assert change.evidence["breach"] == breach.pk
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PAUSED


def test_the_system_does_not_move_a_pilot_without_a_breach():
    pilot = make_pilot(Stage.PILOT)
    with pytest.raises(PermissionRefused):
        lifecycle.move(
            pilot.pk, Action.PAUSE, actor=None, expected_stage=Stage.PILOT, rationale="Why not."
        )
    assert_untouched(pilot)


def test_the_system_cannot_stop_a_pilot_even_for_a_breach():
    pilot = make_pilot(Stage.PILOT)
    breach = open_breach(pilot)
    with pytest.raises(PermissionRefused):
        lifecycle.move(
            pilot.pk,
            Action.STOP,
            actor=None,
            expected_stage=Stage.PILOT,
            rationale="Guardrail broken.",
            breach=breach,
        )
    assert_untouched(pilot)


def test_a_breach_of_another_pilot_cannot_pause_this_one():
    pilot, other = make_pilot(Stage.PILOT), make_pilot(Stage.PILOT)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PAUSE,
            actor=None,
            expected_stage=Stage.PILOT,
            rationale="Guardrail broken.",
            breach=open_breach(other),
        )
    assert refused.value.field == "breach"
    assert_untouched(pilot)


def test_allowed_actions_lists_what_this_user_may_attempt(lead, team, ops, ops2):
    pilot = make_pilot(Stage.PROPOSED, lead=lead, team=team, proposed_by=ops)
    assert {t.action for t in lifecycle.allowed_actions(pilot, ops2)} == {
        Action.APPROVE,
        Action.SEND_BACK,
        Action.REJECT,
    }
    assert {t.action for t in lifecycle.allowed_actions(pilot, ops)} == {
        Action.SEND_BACK,
        Action.REJECT,
    }
    assert lifecycle.allowed_actions(pilot, lead) == []


def test_proposers_of_several_pilots_are_found_in_one_query(
    lead, team, ops, ops2, django_assert_num_queries
):
    submitted = make_pilot(lead=lead, team=team)
    MembershipFactory(team=team, user=ops2, role="lead")
    lifecycle.move(submitted.pk, Action.SUBMIT, actor=ops2, expected_stage=Stage.DRAFT)
    submitted.refresh_from_db()
    other = make_pilot(Stage.PROPOSED, proposed_by=ops)
    with django_assert_num_queries(1):
        found = lifecycle.proposers_of([submitted, other])
    assert found == {submitted.pk: {lead.pk, ops2.pk}, other.pk: {other.lead_id, ops.pk}}
    assert found[submitted.pk] == lifecycle.proposers(submitted)


def test_check_move_refuses_what_move_would_refuse_whatever_the_rationale(lead, team, ops, ops2):
    pilot = make_pilot(Stage.PROPOSED, lead=lead, team=team, proposed_by=ops)
    assert lifecycle.check_move(pilot, Action.APPROVE, actor=ops2).target == Stage.SANDBOX
    with pytest.raises(PermissionRefused, match="Four eyes"):
        lifecycle.check_move(pilot, Action.APPROVE, actor=ops)
    with pytest.raises(IllegalTransition):
        lifecycle.check_move(pilot, Action.PROMOTE, actor=ops2)
    AITool.objects.filter(pk=pilot.tool_id).update(
        approval_status=AITool.ApprovalStatus.NOT_ALLOWED
    )
    pilot.refresh_from_db()
    pilot.tool.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.check_move(pilot, Action.APPROVE, actor=ops2)
    assert refused.value.field == "tool"
    # Sending back leads to no stage that checks the tool: still possible.
    assert lifecycle.check_move(pilot, Action.SEND_BACK, actor=ops).target == Stage.DRAFT


def test_can_edit_only_drafts_of_ones_own_team(lead, team, outsider):
    draft = make_pilot(lead=lead, team=team)
    proposed = make_pilot(Stage.PROPOSED, lead=lead, team=team)
    assert access.may_edit(lead, draft)
    assert not access.may_edit(lead, proposed)
    assert not access.may_edit(outsider, draft)


# --- Rationale, stale stage, bad input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "action"),
    [
        (Stage.PROPOSED, Action.SEND_BACK),
        (Stage.PROPOSED, Action.REJECT),
        (Stage.PILOT, Action.PAUSE),
        (Stage.PILOT, Action.STOP),
        (Stage.APPROVED, Action.RETIRE),
    ],
)
def test_moves_that_need_a_reason_are_refused_without_one(stage, action, ops):
    pilot = make_pilot(stage)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(pilot.pk, action, actor=ops, expected_stage=stage, rationale="   ")
    assert (refused.value.code, refused.value.field) == ("rationale_required", "rationale")
    assert_untouched(pilot)


def test_a_move_from_a_stage_the_pilot_has_left_is_refused_as_changed_meanwhile(ops):
    pilot = make_pilot(Stage.SANDBOX)
    with pytest.raises(StageChangedMeanwhile) as refused:
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)
    assert refused.value.code == "stage_changed"
    assert "Sandbox" in str(refused.value)
    assert_untouched(pilot)


def test_an_unknown_expected_stage_or_action_is_a_field_error(ops):
    pilot = make_pilot(Stage.PROPOSED)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage="nowhere")
    assert refused.value.field == "expected_stage"
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(pilot.pk, "launch", actor=ops, expected_stage=Stage.PROPOSED)
    assert refused.value.field == "action"
    assert_untouched(pilot)


def test_submitting_a_draft_whose_tool_was_banned_since_is_refused_on_the_tool(lead, team):
    tool = AIToolFactory(name="Banned later")
    pilot = make_pilot(lead=lead, team=team, tool=tool)
    AITool.objects.filter(pk=tool.pk).update(approval_status=AITool.ApprovalStatus.NOT_ALLOWED)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    assert (refused.value.code, refused.value.field) == ("tool_not_allowed", "tool")
    assert_untouched(pilot)


def test_approving_data_above_the_tools_classification_is_refused(ops2):
    tool = AIToolFactory(name="Internal only", max_data_classification="confidential")
    pilot = make_pilot(Stage.PROPOSED, tool=tool, data_classification="confidential")
    AITool.objects.filter(pk=tool.pk).update(max_data_classification="internal")
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(pilot.pk, Action.APPROVE, actor=ops2, expected_stage=Stage.PROPOSED)
    assert refused.value.field == "data_classification"
    assert_untouched(pilot)


# --- Gates: to pilot ---------------------------------------------------------------------------


def test_promotion_to_pilot_reports_no_evidence_yet_and_blocks_without_a_closed_round(ops):
    pilot = make_pilot(Stage.SANDBOX)
    FeedbackRoundFactory(pilot=pilot, invited_count=10, response_count=9)  # still open
    with pytest.raises(GateFailed) as refused:
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    assert refused.value.code == "gate_failed"
    assert statuses(refused.value.results) == {
        "closed_round": GateStatus.NO_EVIDENCE,
        "no_open_breach": GateStatus.PASSED,
    }
    assert refused.value.as_dict()["gates"][0]["status"] == GateStatus.NO_EVIDENCE
    assert_untouched(pilot)


def test_promotion_to_pilot_fails_when_fewer_than_half_responded(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=9, responded=4)
    results = lifecycle.gates_for(pilot, Action.PROMOTE)
    assert statuses(results)["closed_round"] == GateStatus.FAILED
    assert "44%" in results[0].detail
    with pytest.raises(GateFailed):
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    assert_untouched(pilot)


def test_promotion_to_pilot_passes_with_exactly_half_responding_and_no_breach(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=10, responded=2, days_ago=14)
    close_round(pilot, invited=10, responded=5, days_ago=7)
    change = lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    assert statuses(change.gate_results) == {
        "closed_round": GateStatus.PASSED,
        "no_open_breach": GateStatus.PASSED,
    }
    assert change.overridden is False
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


def test_a_closed_round_nobody_was_invited_to_is_no_evidence():
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=0, responded=0)
    assert statuses(lifecycle.gates_for(pilot, Action.PROMOTE))["closed_round"] == (
        GateStatus.NO_EVIDENCE
    )


def test_promotion_to_pilot_fails_with_an_open_breach_and_passes_once_resolved(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=4, responded=4)
    breach = open_breach(pilot)
    with pytest.raises(GateFailed) as refused:
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    assert statuses(refused.value.results)["no_open_breach"] == GateStatus.FAILED
    GuardrailBreach.objects.filter(pk=breach.pk).update(
        resolved_at=timezone.now(), resolved_by=ops, resolution_note="Retrained the team."
    )
    lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


# --- Gates: to approved standard ---------------------------------------------------------------


def test_promotion_to_standard_passes_with_metrics_met_no_breach_and_both_reviews(ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops)
    change = lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.PILOT,
        conclusion=findings_for(Stage.PILOT, Action.PROMOTE),
    )
    metric = pilot.metrics.get()
    assert statuses(change.gate_results) == {
        f"metric_{metric.pk}": GateStatus.PASSED,
        "no_open_breach": GateStatus.PASSED,
        "security_review": GateStatus.PASSED,
        "legal_review": GateStatus.PASSED,
    }
    assert change.evidence["metrics"][0]["status"] == evidence.MetricStatus.MET
    pilot.refresh_from_db()
    assert pilot.stage == Stage.APPROVED


@pytest.mark.parametrize(
    ("status", "enough", "expected"),
    [
        (evidence.MetricStatus.MET, True, GateStatus.PASSED),
        (evidence.MetricStatus.NOT_MET, True, GateStatus.FAILED),
        (evidence.MetricStatus.INCONCLUSIVE, True, GateStatus.FAILED),
        (evidence.MetricStatus.INCONCLUSIVE, False, GateStatus.NO_EVIDENCE),
    ],
)
def test_each_success_metric_is_a_gate_criterion(status, enough, expected, ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops)
    metric = pilot.metrics.get()
    fake_metric_statuses(monkeypatch, (status, enough))
    results = lifecycle.gates_for(pilot, Action.PROMOTE)
    assert statuses(results)[f"metric_{metric.pk}"] == expected
    if expected != GateStatus.PASSED:
        with pytest.raises(GateFailed):
            lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.PILOT)
        assert_untouched(pilot)


def test_every_metric_must_be_met_not_just_one(ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops)
    SuccessMetricFactory(pilot=pilot, name="Second")
    fake_metric_statuses(
        monkeypatch, (evidence.MetricStatus.MET, True), (evidence.MetricStatus.NOT_MET, True)
    )
    with pytest.raises(GateFailed):
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.PILOT)


def test_a_pilot_without_success_metrics_cannot_become_a_standard(ops):
    pilot = make_pilot(Stage.PILOT)
    ReviewFactory(pilot=pilot, kind=Review.Kind.SECURITY, reviewer=ops)
    ReviewFactory(pilot=pilot, kind=Review.Kind.LEGAL, reviewer=ops)
    assert statuses(lifecycle.gates_for(pilot, Action.PROMOTE))["metrics"] == GateStatus.FAILED


def test_promotion_to_standard_fails_with_an_open_breach(ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops)
    open_breach(pilot)
    assert statuses(lifecycle.gates_for(pilot, Action.PROMOTE))["no_open_breach"] == (
        GateStatus.FAILED
    )


@pytest.mark.parametrize("kind", [Review.Kind.SECURITY, Review.Kind.LEGAL])
def test_a_missing_review_is_no_evidence_yet_and_blocks(kind, ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops, kinds=tuple(k for k in Review.Kind if k != kind))
    assert statuses(lifecycle.gates_for(pilot, Action.PROMOTE))[f"{kind}_review"] == (
        GateStatus.NO_EVIDENCE
    )
    with pytest.raises(GateFailed):
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.PILOT)


def test_the_gate_refusal_names_each_criterion_not_passed_with_its_status(ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops, kinds=(Review.Kind.LEGAL,))
    SuccessMetricFactory(pilot=pilot, name="Answer quality")
    fake_metric_statuses(
        monkeypatch, (evidence.MetricStatus.MET, True), (evidence.MetricStatus.NOT_MET, True)
    )
    with pytest.raises(GateFailed) as refused:
        lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.PILOT)
    # Only what did not pass, each with its status: nothing reads as if it had passed.
    assert refused.value.message == (
        "The gate is not passed: Success metric “Answer quality”: failed; "
        "Security review: no evidence yet."
    )
    # The keys and statuses the API and the stored snapshots use stay as they were.
    assert [(g["label"], g["status"]) for g in refused.value.as_dict()["gates"]][-3:] == [
        ("No open guardrail breach", "passed"),
        ("Security review", "no_evidence"),
        ("Legal review", "passed"),
    ]


def test_each_gate_status_has_a_word_of_the_gate_vocabulary():
    words = {
        status: GateResult("k", "Criterion", status).status_label
        for status in (GateStatus.PASSED, GateStatus.FAILED, GateStatus.NO_EVIDENCE)
    }
    assert words == {"passed": "passed", "failed": "failed", "no_evidence": "no evidence yet"}


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Review.Outcome.CLEARED, GateStatus.PASSED),
        (Review.Outcome.CLEARED_WITH_CONDITIONS, GateStatus.PASSED),
        (Review.Outcome.REFUSED, GateStatus.FAILED),
    ],
)
def test_the_latest_security_review_decides(outcome, expected, ops, monkeypatch):
    pilot = make_pilot(Stage.PILOT)
    ready_for_approval(pilot, monkeypatch, ops)
    ReviewFactory(
        pilot=pilot,
        kind=Review.Kind.SECURITY,
        reviewer=ops,
        outcome=outcome,
        notes="Only anonymised tickets.",
        reviewed_on=timezone.localdate() + datetime.timedelta(days=1),
    )
    assert statuses(lifecycle.gates_for(pilot, Action.PROMOTE))["security_review"] == expected


# --- Overrides and the audit record ------------------------------------------------------------


def test_overriding_a_failing_gate_without_a_rationale_is_refused(ops):
    pilot = make_pilot(Stage.SANDBOX)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PROMOTE,
            actor=ops,
            expected_stage=Stage.SANDBOX,
            override=True,
            rationale="",
        )
    assert (refused.value.code, refused.value.field) == ("override_rationale_required", "rationale")
    assert_untouched(pilot)


def test_a_rationale_without_override_does_not_pass_a_failing_gate(ops):
    pilot = make_pilot(Stage.SANDBOX)
    with pytest.raises(GateFailed):
        lifecycle.move(
            pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX, rationale="Trust me."
        )
    assert_untouched(pilot)


def test_an_override_with_a_rationale_moves_and_is_recorded_as_such(ops, team, lead):
    pilot = make_pilot(Stage.SANDBOX, team=team, lead=lead)
    close_round(pilot, invited=10, responded=3)
    change = lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        override=True,
        rationale="  Board asked for a wider trial.  ",
    )
    stored = StageChange.objects.get(pilot=pilot)
    assert stored == change
    assert stored.from_stage == Stage.SANDBOX
    assert stored.to_stage == Stage.PILOT
    assert stored.actor == ops
    assert stored.rationale == "Board asked for a wider trial."
    assert stored.overridden is True
    assert statuses(stored.gate_results) == {
        "closed_round": GateStatus.FAILED,
        "no_open_breach": GateStatus.PASSED,
    }
    assert "30%" in stored.gate_results[0]["detail"]
    assert stored.evidence["open_breaches"] == 0


def test_an_override_flag_on_a_passing_gate_is_not_recorded_as_an_override(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=2, responded=2)
    change = lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        override=True,
        rationale="Not needed.",
    )
    assert change.overridden is False


def test_the_audit_keeps_the_gate_results_as_they_were_at_the_move(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=2, responded=2)
    change = lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    open_breach(pilot)
    change.refresh_from_db()
    assert statuses(change.gate_results)["no_open_breach"] == GateStatus.PASSED


def test_a_whole_history_reads_in_order(lead, team, ops, ops2):
    pilot = make_pilot(lead=lead, team=team)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)
    lifecycle.move(
        pilot.pk,
        Action.PAUSE,
        actor=ops2,
        expected_stage=Stage.SANDBOX,
        rationale="Holiday freeze.",
    )
    lifecycle.move(pilot.pk, Action.RESUME, actor=ops2, expected_stage=Stage.PAUSED)
    lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        rationale="No longer needed.",
        conclusion=findings_for(Stage.SANDBOX, Action.STOP),
    )
    history = list(pilot.stage_changes.values_list("from_stage", "to_stage", "actor__username"))
    assert history == [
        ("draft", "proposed", "lead"),
        ("proposed", "sandbox", "ops"),
        ("sandbox", "paused", "ops2"),
        ("paused", "sandbox", "ops2"),
        ("sandbox", "stopped", "ops"),
    ]


# --- Append-only audit in the database ---------------------------------------------------------


def test_postgresql_refuses_to_update_a_stage_change(postgres, lead, team):
    pilot = make_pilot(lead=lead, team=team)
    change = lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StageChange.objects.filter(pk=change.pk).update(rationale="rewritten")
    change.refresh_from_db()
    assert change.rationale == ""


def test_postgresql_refuses_to_delete_a_stage_change(postgres, lead, team):
    pilot = make_pilot(lead=lead, team=team)
    change = lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StageChange.objects.filter(pk=change.pk).delete()
    assert StageChange.objects.filter(pk=change.pk).exists()


def test_the_metric_threshold_fixture_is_consistent():
    # Guards the helper above: a Decimal target above its baseline is a valid metric.
    metric = SuccessMetricFactory(baseline=Decimal("3.0"), target=Decimal("3.5"))
    metric.full_clean()


def test_a_system_pause_without_a_rationale_records_what_broke():
    pilot = make_pilot(Stage.SANDBOX)
    breach = open_breach(pilot)
    change = lifecycle.move(
        pilot.pk, Action.PAUSE, actor=None, expected_stage=Stage.SANDBOX, breach=breach
    )
    assert change.rationale == breach_text.describe(breach)
    assert change.rationale
