"""Two Ops moving the same pilot at the same moment: exactly one move happens."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from core.exceptions import StageChangedMeanwhile
from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import Stage, StageChange
from tests.factories import PilotFactory
from tests.waiting import POLL_SECONDS, backends_waiting_for_a_lock

DEADLINE_SECONDS = 15


def _wait_until_a_backend_waits_for_a_lock() -> bool:
    # Runs in the lock holder's thread: it reports rather than fails, the test asserts.
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if backends_waiting_for_a_lock():
            return True
        time.sleep(POLL_SECONDS)
    return False


def _race(monkeypatch, pilot_id: int, moves: list[tuple[str, object, str]]) -> tuple[list, dict]:
    """Run two moves at once; the first to lock the pilot holds it until the other blocks."""
    barrier = threading.Barrier(len(moves))
    first = threading.Lock()
    seen = {"blocked": False}
    real_evaluate_gates = lifecycle.evaluate_gates

    def evaluate_gates_slowly(pilot, gate):
        # Runs with the pilot row locked: hold it until the other transaction waits on it.
        if first.acquire(blocking=False):
            seen["blocked"] = _wait_until_a_backend_waits_for_a_lock()
        return real_evaluate_gates(pilot, gate)

    monkeypatch.setattr(lifecycle, "evaluate_gates", evaluate_gates_slowly)
    outcomes: list = []

    def run(action: str, actor, rationale: str) -> None:
        try:
            barrier.wait(timeout=DEADLINE_SECONDS)
            outcomes.append(
                lifecycle.move(
                    pilot_id,
                    action,
                    actor=actor,
                    expected_stage=Stage.PROPOSED,
                    rationale=rationale,
                )
            )
        except Exception as exc:  # collected and asserted on by the test
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=m) for m in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE_SECONDS * 2)
    assert not any(t.is_alive() for t in threads), "a move never finished"
    return outcomes, seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_ops_approving_at_once_make_exactly_one_move(postgres, ops, ops2, monkeypatch):
    pilot = PilotFactory(stage=Stage.PROPOSED)
    outcomes, seen = _race(
        monkeypatch, pilot.pk, [(Action.APPROVE, ops, ""), (Action.APPROVE, ops2, "")]
    )
    assert seen["blocked"], "the second transaction never waited for the row lock"
    changes = [o for o in outcomes if isinstance(o, StageChange)]
    errors = [o for o in outcomes if not isinstance(o, StageChange)]
    assert len(changes) == 1
    assert len(errors) == 1 and isinstance(errors[0], StageChangedMeanwhile), errors
    assert errors[0].code == "stage_changed"
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX
    assert StageChange.objects.filter(pilot=pilot).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_a_rejection_leaves_one_decision(postgres, ops, ops2, monkeypatch):
    pilot = PilotFactory(stage=Stage.PROPOSED)
    outcomes, seen = _race(
        monkeypatch, pilot.pk, [(Action.APPROVE, ops, ""), (Action.REJECT, ops2, "Out of scope.")]
    )
    assert seen["blocked"]
    [change] = [o for o in outcomes if isinstance(o, StageChange)]
    [error] = [o for o in outcomes if not isinstance(o, StageChange)]
    assert isinstance(error, StageChangedMeanwhile)
    pilot.refresh_from_db()
    assert pilot.stage == change.to_stage
    assert list(StageChange.objects.filter(pilot=pilot)) == [change]
