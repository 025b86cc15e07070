"""Drill: Ops acting on a round at the moment the beat (or another Ops) does the same.

PostgreSQL, real transactions, threads. Opening relies on the one-round-per-period constraint,
reminding on the round row lock and the conditional update of each prompt, closing on the
round row lock: whoever comes second changes nothing and is told why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections
from django.utils import timezone

from core.exceptions import DomainError
from core.models import Delivery
from feedback import scheduling
from feedback.models import FeedbackRound, Prompt
from tests.factories import (
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    pulse_questionnaire,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 20.0


def race(**contenders: Callable[[], object]) -> dict[str, object]:
    """Start every contender at the same instant; return each one's result or error code."""
    start = threading.Barrier(len(contenders), timeout=DEADLINE)
    outcomes: dict[str, object] = {}

    def run(name: str, act: Callable[[], object]) -> None:
        try:
            start.wait()
            outcomes[name] = act()
        except DomainError as e:
            outcomes[name] = e.code
        except Exception as e:  # the test reports any other failure as an outcome
            outcomes[name] = f"error: {e!r}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item, name=item[0]) for item in contenders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive(), f"{thread.name} still running after {DEADLINE}s"
    return outcomes


@pytest.fixture
def pilot(postgres):
    # The sends enqueued after commit are recorded, not published (conftest's spine_messages).
    pulse_questionnaire()
    pilot = PilotFactory(stage="pilot", team=TeamFactory(timezone="Europe/Paris"))
    for _ in range(4):
        ParticipationFactory(pilot=pilot)
    return pilot


def test_ops_opening_a_round_as_the_beat_opens_it_makes_one_round(pilot):
    ops = OpsUserFactory(username="ops")
    for attempt in range(3):
        outcomes = race(
            ops=lambda: scheduling.open_rounds_now([pilot.pk], actor=ops),
            beat=scheduling.open_due_rounds,
        )
        assert not any(str(o).startswith("error") for o in outcomes.values()), outcomes
        assert FeedbackRound.objects.filter(pilot=pilot).count() == 1, attempt
        assert Prompt.objects.count() == 4
        FeedbackRound.objects.all().delete()


def test_two_ops_reminding_at_once_remind_each_participant_once(pilot):
    ops, ops2 = OpsUserFactory(username="ops"), OpsUserFactory(username="ops2")
    [round_id] = scheduling.open_due_rounds()
    Delivery.objects.filter(kind="invitation").update(status="sent", sent_at=timezone.now())
    outcomes = race(
        ops=lambda: scheduling.remind_now(round_id, actor=ops),
        ops2=lambda: scheduling.remind_now(round_id, actor=ops2),
    )
    assert sorted(outcomes.values(), key=str) == [4, "nothing_to_remind"]
    reminders = Delivery.objects.filter(kind="reminder")
    assert list(reminders.values_list("status", flat=True)) == ["queued"] * 4
    assert reminders.values("subject_id").distinct().count() == 4


def test_ops_closing_a_round_as_the_beat_closes_it_closes_it_once(pilot):
    ops = OpsUserFactory(username="ops")
    [round_id] = scheduling.open_due_rounds()
    outcomes = race(
        ops=lambda: scheduling.close_round_now(round_id, actor=ops).pk,
        beat=lambda: scheduling.close_round(round_id),
    )
    closed_by_ops = outcomes["ops"] == round_id
    closed_by_beat = outcomes["beat"] is not None
    assert closed_by_ops != closed_by_beat, outcomes
    if not closed_by_ops:
        assert outcomes["ops"] == "round_closed"
    assert FeedbackRound.objects.get(pk=round_id).status == "closed"
