"""Two workers running the budget guardrail on the same pilot at once: one pause, not two."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from pilots import budget
from pilots.models import StageChange
from tests.factories import AIToolFactory, ParticipationFactory, PilotFactory
from tests.waiting import POLL_SECONDS, backends_waiting_for_a_lock

DEADLINE_SECONDS = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_budget_checks_at_once_pause_the_pilot_once(postgres, monkeypatch):
    tool = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("40"))
    pilot = PilotFactory(stage="pilot", tool=tool, budget_cap=Decimal("100"), budget_action="pause")
    for _ in range(3):
        ParticipationFactory(pilot=pilot)  # 120 a month against a cap of 100
    barrier = threading.Barrier(2)
    first = threading.Lock()
    seen = {"blocked": False}
    real_accepted = budget._accepted_by_ops

    def accepted_slowly(locked_pilot, facts):
        # Runs with the pilot row locked: hold it until the other check waits on it.
        if first.acquire(blocking=False):
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline and not seen["blocked"]:
                seen["blocked"] = bool(backends_waiting_for_a_lock())
                time.sleep(POLL_SECONDS)
        return real_accepted(locked_pilot, facts)

    monkeypatch.setattr(budget, "_accepted_by_ops", accepted_slowly)
    outcomes: list = []

    def run() -> None:
        try:
            barrier.wait(timeout=DEADLINE_SECONDS)
            outcomes.append(budget.enforce(pilot.pk))
        except Exception as exc:  # collected and asserted on below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE_SECONDS * 2)

    assert seen["blocked"], "the second check never waited for the row lock"
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert sum(o is not None for o in outcomes) == 1
    assert StageChange.objects.filter(pilot=pilot, action="pause").count() == 1
    pilot.refresh_from_db()
    assert pilot.stage == "paused"
