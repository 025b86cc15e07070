"""Lifecycle shapes the main tests did not build: a best round that is not the newest, and
which moves keep an evidence snapshot (both found by mutation testing, `make mutation`)."""

from __future__ import annotations

import pytest

from pilots import lifecycle
from pilots.lifecycle import Action, GateStatus
from pilots.models import Stage
from tests.factories import findings_for
from tests.pilots.test_lifecycle import ALLOWED, close_round, make_pilot, statuses

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
