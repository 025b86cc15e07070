"""Lifecycle shapes the main tests did not build: a best round that is not the newest, and
which moves keep an evidence snapshot (both found by mutation testing, `make mutation`)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from core.exceptions import DomainError, IllegalTransition, PermissionRefused, ValidationFailed
from core.models import ChangeRecord
from pilots import lifecycle
from pilots.lifecycle import Action, GateStatus
from pilots.models import Stage
from tests.factories import findings_for
from tests.pilots.test_lifecycle import ALLOWED, close_round, make_pilot, open_breach, statuses

pytestmark = pytest.mark.django_db

# The moves that keep the evidence they were decided on: promotions, pauses and stops.
RECORDING_EVIDENCE = {
    (Stage.SANDBOX, Action.PROMOTE),
    (Stage.PILOT, Action.PROMOTE),
    (Stage.SANDBOX, Action.PAUSE),
    (Stage.PILOT, Action.PAUSE),
    (Stage.APPROVED, Action.PAUSE),
    (Stage.SANDBOX, Action.STOP),
    (Stage.PILOT, Action.STOP),
    (Stage.PAUSED, Action.STOP),
}


def refused_move(error: type[DomainError], pilot, action, **arguments) -> DomainError:
    """`lifecycle.move` refused with `error`: the refusal, for its code, field and words."""
    with pytest.raises(error) as refusal:
        lifecycle.move(pilot.pk, action, **arguments)
    return refusal.value


def test_the_gate_to_pilot_judges_the_best_closed_round_even_when_it_is_not_the_newest(ops):
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=4, responded=1, days_ago=21)
    close_round(pilot, invited=4, responded=3, days_ago=14)
    close_round(pilot, invited=4, responded=1, days_ago=7)
    [closed_round, _] = lifecycle.gates_for(pilot, Action.PROMOTE)
    assert closed_round.status == GateStatus.PASSED
    assert closed_round.detail == "Best response rate: 75% (3 of 4)."
    change = lifecycle.move(pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX)
    assert statuses(change.gate_results)["closed_round"] == GateStatus.PASSED
    assert change.overridden is False


def test_the_best_round_is_the_best_rate_not_the_most_responses():
    pilot = make_pilot(Stage.SANDBOX)
    close_round(pilot, invited=20, responded=9, days_ago=14)  # 45%, most answers
    close_round(pilot, invited=5, responded=3, days_ago=7)  # 60%
    [closed_round, _] = lifecycle.gates_for(pilot, Action.PROMOTE)
    assert (closed_round.status, closed_round.detail) == (
        GateStatus.PASSED,
        "Best response rate: 60% (3 of 5).",
    )


@pytest.mark.parametrize(("stage", "action"), sorted(ALLOWED))
def test_promotions_pauses_and_stops_store_an_evidence_snapshot_and_no_other_move_does(
    stage, action, lead, team, ops2
):
    pilot = make_pilot(stage, lead=lead, team=team)
    change = lifecycle.move(
        pilot.pk,
        action,
        actor=lead if action == Action.SUBMIT else ops2,
        expected_stage=stage,
        rationale="Reason given.",
        override=True,
        conclusion=findings_for(stage, action),
    )
    change.refresh_from_db()
    if (stage, action) in RECORDING_EVIDENCE:
        assert {"version", "metrics", "recommendation", "rounds"} <= set(change.evidence)
    else:
        assert change.evidence == {}


def gate_words(results) -> list[tuple[str, str, str, str]]:
    return [(r.key, r.label, r.status, r.detail) for r in results]


def test_each_gate_criterion_says_what_it_checks_and_why_it_stands_where_it_does(ops):
    pilot = make_pilot(Stage.SANDBOX)
    rate = "At least one closed feedback round with a response rate of 50% or more"
    assert gate_words(lifecycle.evaluate_gates(pilot, "to_pilot")) == [
        ("closed_round", rate, "no_evidence", "No feedback round has closed yet."),
        ("no_open_breach", "No open guardrail breach", "passed", ""),
    ]
    open_breach(pilot)
    open_breach(pilot)
    close_round(pilot, invited=5, responded=2, days_ago=7)
    assert gate_words(lifecycle.evaluate_gates(pilot, "to_pilot")) == [
        ("closed_round", rate, "failed", "Best response rate: 40% (2 of 5)."),
        ("no_open_breach", "No open guardrail breach", "failed", "2 open breach(es)."),
    ]
    assert gate_words(lifecycle.evaluate_gates(pilot, "high_risk_reviews")) == [
        ("security_review", "Security review", "no_evidence", "No Security review recorded."),
        ("legal_review", "Legal review", "no_evidence", "No Legal review recorded."),
    ]
    assert [
        lifecycle.criterion_with_status(r)
        for r in lifecycle.evaluate_gates(pilot, "high_risk_reviews")
    ] == ["Security review: no evidence yet", "Legal review: no evidence yet"]
    assert lifecycle.evaluate_gates(pilot, None) == []


def test_an_impossible_move_names_the_moves_allowed_from_the_stage():

    with pytest.raises(IllegalTransition) as refused:
        lifecycle.find_transition(Stage.DRAFT, Action.APPROVE)
    # Written out, not rebuilt from the labels: the words Ops read are what is checked.
    assert refused.value.message == (
        "“Approve” is not possible from the stage Draft. Allowed from here: Submit for review."
    )
    assert refused.value.field == "stage"
    with pytest.raises(IllegalTransition) as final:
        lifecycle.find_transition(Stage.RETIRED, Action.RESUME)
    assert final.value.message.endswith("Allowed from here: nothing (this stage is final).")


def test_a_high_risk_pilot_needs_both_reviews_to_be_approved_into_the_sandbox_only(ops):
    from pilots.models import Pilot, Review
    from tests.factories import ReviewFactory

    pilot = make_pilot(Stage.PROPOSED, risk_level=Pilot.RiskLevel.HIGH)
    assert [r.key for r in lifecycle.gates_for(pilot, Action.APPROVE)] == [
        "security_review",
        "legal_review",
    ]
    # Other moves of a high-risk pilot keep their own gate (sending back has none).
    assert lifecycle.gates_for(pilot, Action.SEND_BACK) == []
    ReviewFactory(pilot=pilot, kind=Review.Kind.SECURITY, outcome=Review.Outcome.CLEARED)
    ReviewFactory(pilot=pilot, kind=Review.Kind.LEGAL, outcome=Review.Outcome.REFUSED)
    [security, legal] = lifecycle.gates_for(pilot, Action.APPROVE)
    assert (security.status, security.detail) == ("passed", str(Review.Outcome.CLEARED.label))
    assert (legal.label, legal.status, legal.detail) == (
        "Legal review",
        "failed",
        str(Review.Outcome.REFUSED.label),
    )
    # A limited-risk pilot's approval has no review gate.
    assert lifecycle.gates_for(make_pilot(Stage.PROPOSED), Action.APPROVE) == []


@pytest.mark.parametrize(
    ("who", "stage", "action", "message"),
    [
        ("system", Stage.SANDBOX, Action.PROMOTE, "Only a person can make this move."),
        ("inactive ops", Stage.SANDBOX, Action.PAUSE, "Sign in with an active account"),
        ("lead", Stage.SANDBOX, Action.PAUSE, "Only Ops can make this move."),
        ("outsider", Stage.DRAFT, Action.SUBMIT, "Only the pilot's lead or Ops can submit it."),
        ("proposer", Stage.PROPOSED, Action.APPROVE, "Four eyes: whoever proposed or leads"),
    ],
)
def test_each_refused_mover_is_told_why(who, stage, action, message, ops, outsider):
    from tests.factories import OpsUserFactory

    pilot = make_pilot(stage)
    actor = {
        "system": None,
        "inactive ops": OpsUserFactory(username="gone", is_active=False),
        "lead": pilot.lead,
        "outsider": outsider,
        "proposer": OpsUserFactory(username="proposer"),
    }[who]
    if who == "proposer":
        pilot.proposed_by = actor
        pilot.save(update_fields=["proposed_by"])
    with pytest.raises(PermissionRefused) as refused:
        lifecycle.check_move(pilot, action, actor=actor)
    assert refused.value.message.startswith(message)
    # A page listing pilots passes the proposers it read at once: the same refusal.
    if who == "proposer":
        with pytest.raises(PermissionRefused):
            lifecycle.check_move(
                pilot, action, actor=actor, proposer_ids=lifecycle.proposers_of([pilot])[pilot.pk]
            )


def test_the_proposers_of_several_pilots_are_their_leads_and_submitters_only(ops, ops2):
    one, two = make_pilot(Stage.DRAFT), make_pilot(Stage.DRAFT)
    lifecycle.move(one.pk, Action.SUBMIT, actor=ops, expected_stage=Stage.DRAFT)
    lifecycle.move(
        one.pk,
        Action.SEND_BACK,
        actor=ops2,
        expected_stage=Stage.PROPOSED,
        rationale="Say who takes part.",
    )
    found = lifecycle.proposers_of([one, two])
    # ops submitted `one`; ops2 only sent it back; nobody submitted `two`.
    assert found == {one.pk: {one.lead_id, ops.pk}, two.pk: {two.lead_id}}


def test_an_anonymous_visitor_may_make_no_move_and_the_system_only_pauses():
    from django.contrib.auth.models import AnonymousUser

    pilot = make_pilot(Stage.PILOT)
    assert lifecycle.allowed_actions(pilot, AnonymousUser()) == []
    assert [t.action for t in lifecycle.allowed_actions(pilot, None)] == [Action.PAUSE]


@pytest.mark.parametrize(
    ("stage", "action", "code", "message"),
    [
        ("launched", Action.PAUSE, "unknown_stage", "Unknown stage: launched."),
        (Stage.PILOT, "fly", "unknown_action", "Unknown action: fly."),
    ],
)
def test_an_unknown_stage_or_action_is_refused_by_name(stage, action, code, message, ops):

    pilot = make_pilot(Stage.PILOT)
    refused = refused_move(
        ValidationFailed, pilot, action, actor=ops, expected_stage=stage, rationale="Why"
    )
    assert (refused.code, refused.message) == (code, message)


def test_a_dated_move_is_kept_in_order_neither_in_the_future_nor_before_the_last(
    ops, time_machine, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    time_machine.move_to("2026-06-01 12:00:00+00:00", tick=False)
    pilot = make_pilot(Stage.SANDBOX)
    last = timezone.now() - datetime.timedelta(days=10)
    type(pilot).objects.filter(pk=pilot.pk).update(stage_changed_at=last)
    pause = {"actor": ops, "expected_stage": Stage.SANDBOX, "rationale": "Why"}
    future = refused_move(
        ValidationFailed,
        pilot,
        Action.PAUSE,
        **pause,
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    assert (future.code, future.field, future.message) == (
        "move_in_future",
        "now",
        "A stage change cannot be dated in the future.",
    )
    before = refused_move(
        ValidationFailed, pilot, Action.PAUSE, **pause, now=last - datetime.timedelta(seconds=1)
    )
    assert (before.code, before.field) == ("move_before_last_change", "now")
    # In the site's time zone (TIME_ZONE, Paris: 12:00 UTC is 2 p.m. in May).
    assert before.message == (
        "A stage change cannot be dated before the pilot's last one (05/22/2026 2 p.m.)."
    )
    # Exactly at the last change, and exactly now, are both in order.
    assert lifecycle.move(pilot.pk, Action.PAUSE, **pause, now=last).created_at == last
    resume = lifecycle.move(
        pilot.pk, Action.RESUME, actor=ops, expected_stage=Stage.PAUSED, now=timezone.now()
    )
    assert resume.created_at == timezone.now()


def test_the_system_pauses_only_for_its_own_pilots_breach_and_people_say_why(ops):

    pilot, other = make_pilot(Stage.PILOT), make_pilot(Stage.PILOT)
    no_reason = refused_move(
        PermissionRefused, pilot, Action.PAUSE, actor=None, expected_stage=Stage.PILOT
    )
    assert no_reason.message == "The system moves a pilot only because a guardrail broke."
    elsewhere = refused_move(
        ValidationFailed,
        pilot,
        Action.PAUSE,
        actor=None,
        expected_stage=Stage.PILOT,
        breach=open_breach(other),
    )
    assert (elsewhere.code, elsewhere.message) == (
        "breach_of_another_pilot",
        "This breach belongs to another pilot.",
    )
    silent = refused_move(
        ValidationFailed, pilot, Action.PAUSE, actor=ops, expected_stage=Stage.PILOT
    )
    assert (silent.code, silent.field, silent.message) == (
        "rationale_required",
        "rationale",
        "Give a reason for this move.",
    )


def test_an_override_without_its_reason_and_a_conclusion_on_a_plain_move_are_refused(ops):

    pilot = make_pilot(Stage.SANDBOX)  # no closed round: the gate to pilot is not passed
    silent = refused_move(
        ValidationFailed,
        pilot,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        override=True,
    )
    assert (silent.code, silent.field, silent.message) == (
        "override_rationale_required",
        "rationale",
        "Overriding a failing gate needs a written rationale.",
    )
    unexpected = refused_move(
        ValidationFailed,
        pilot,
        Action.PAUSE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        rationale="Why",
        conclusion=findings_for(Stage.SANDBOX, Action.STOP),
    )
    assert (unexpected.code, unexpected.field, unexpected.message) == (
        "conclusion_not_expected",
        "conclusion",
        "Only stopping, retiring or promoting to approved standard records a conclusion.",
    )


def test_each_move_writes_its_change_record_and_an_override_says_so(ops, time_machine):
    time_machine.move_to("2026-06-01 12:00:00+00:00", tick=False)
    pilot = make_pilot(Stage.SANDBOX)  # no closed round: promoting overrides its gate
    type(pilot).objects.filter(pk=pilot.pk).update(
        stage_changed_at=timezone.now() - datetime.timedelta(days=10)
    )
    when = timezone.now() - datetime.timedelta(days=2)
    lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=ops,
        expected_stage=Stage.SANDBOX,
        override=True,
        rationale="The team needs it now.",
        now=when,
    )
    [record] = ChangeRecord.objects.filter(action="stage.promote")
    assert (record.subject_id, record.scope_id, record.actor) == (str(pilot.pk), pilot.pk, ops)
    assert record.changes == {"stage": ["sandbox", "pilot"], "overridden": [False, True]}
    assert (record.reason, record.created_at) == ("The team needs it now.", when)
    lifecycle.move(
        pilot.pk, Action.PAUSE, actor=ops, expected_stage=Stage.PILOT, rationale="Holiday."
    )
    [pause] = ChangeRecord.objects.filter(action="stage.pause")
    assert (pause.changes, pause.reason) == ({"stage": ["pilot", "paused"]}, "Holiday.")
