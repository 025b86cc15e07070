"""Two people acting on the same row at once: the row lock and the re-check decide (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from core.exceptions import DomainError
from pilots import declarations, proposals
from pilots.models import Pilot, ToolDeclaration
from tests.factories import AIToolFactory, PilotFactory, UserFactory, pulse_questionnaire
from tests.waiting import backends_waiting_for_a_lock, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE_SECONDS = 10


def _race(hold, calls) -> list:
    """Run hold in a transaction that keeps its row locks until every call blocks on them."""
    outcomes: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            outcomes[i] = calls[i]()
        except Exception as e:  # kept for the test's assertions, whatever it is
            outcomes[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with transaction.atomic():
        hold()
        for t in threads:
            t.start()
        wait_until(
            lambda: backends_waiting_for_a_lock() >= len(calls),
            what=f"every call to block (outcomes so far: {outcomes})",
            timeout=DEADLINE_SECONDS,
        )
    for t in threads:
        t.join(DEADLINE_SECONDS)
        assert not t.is_alive()
    return outcomes


def test_two_ops_turning_one_declaration_into_a_pilot_open_only_one(postgres, ops, ops2, team):
    declarer = UserFactory(username="declarer")
    team.memberships.create(user=declarer)
    declaration = declarations.declare(
        user=declarer, tool_name="MeetingBot", used_for="Notes", data_classification="internal"
    )
    outcomes = _race(
        lambda: ToolDeclaration.objects.select_for_update().get(pk=declaration.pk),
        [
            lambda: declarations.turn_into_pilot(declaration.pk, actor=ops),
            lambda: declarations.turn_into_pilot(declaration.pk, actor=ops2),
        ],
    )
    assert sum(isinstance(o, Pilot) for o in outcomes) == 1
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["already_handled"]
    assert Pilot.objects.count() == 1


def test_an_edit_racing_a_submission_is_refused_once_the_pilot_is_proposed(
    postgres, lead, team, participant
):
    pulse_questionnaire()  # the question the metric names (a transactional test may flush it)
    tool = AIToolFactory()
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    pilot.metrics.create(name="Quality", question_key="quality", target=4)
    pilot.guardrails.create(description="A human checks")
    pilot.participations.create(user=participant)
    edit = proposals.Proposal(
        fields={"title": "Edited late", "tool": tool, "data_classification": "internal"},
        metrics=[{"name": "Quality", "question_key": "quality", "target": 4}],
        guardrails=[{"kind": "policy", "description": "A human checks"}],
        participants=[participant],
    )
    # The submission holds the pilot's row lock while the edit arrives; the edit waits, then
    # re-checks the stage under the lock and finds the pilot no longer a draft.
    outcomes = _race(
        lambda: proposals.submit(pilot.pk, actor=lead, expected_stage="draft"),
        [lambda: proposals.update_draft(pilot.pk, editor=lead, proposal=edit)],
    )
    assert isinstance(outcomes[0], DomainError)
    assert outcomes[0].code == "not_editable"
    pilot.refresh_from_db()
    assert pilot.title != "Edited late"
