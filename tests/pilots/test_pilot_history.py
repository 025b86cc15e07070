"""The pilot page shows the pilot's whole history in words, at a cost that does not grow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import changelog
from pilots import history
from tests.factories import MembershipFactory, PilotFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def add_history(pilot, size: int, actor) -> None:
    """`size` recorded edits, each naming people, a team and a stage, as proposals write them."""
    for i in range(size):
        person = MembershipFactory(team=pilot.team, user=UserFactory(first_name=f"P{i}")).user
        changelog.record(
            "pilot.edited",
            subject=pilot,
            scope=pilot,
            actor=actor,
            changes={
                "title": [f"Title {i}", f"Title {i + 1}"],
                "participants": [[], [person.pk]],
                "team": [TeamFactory().pk, pilot.team_id],
                "risk_level": ["minimal", "high"],
            },
            reason=f"Reason {i}",
        )
    changelog.record(
        "stage.pause",
        subject=pilot,
        scope=pilot,
        actor=None,
        changes={"stage": ["pilot", "paused"]},
        reason="Trust fell.",
    )


def test_the_history_says_who_when_what_and_why_in_words(lead):
    pilot = PilotFactory(stage="paused", paused_from="pilot", lead=lead)
    add_history(pilot, 1, lead)
    edit, pause = history.entries(pilot)
    assert (edit.action, edit.actor) == ("Proposal edited by its lead", lead.get_full_name())
    words = {c.label: (c.before, c.after) for c in edit.changes}
    assert words["title"] == ("Title 0", "Title 1")
    assert words["participants"] == ("—", "P0 " + pilot.team.memberships.last().user.last_name)
    assert words["risk level"] == ("Minimal", "High")
    assert (pause.action, pause.actor) == ("Stage move: Pause", "the system")
    assert [(c.before, c.after) for c in pause.changes] == [("Pilot", "Paused")]


@pytest.mark.parametrize("size", [2, 25])
def test_the_pilot_page_shows_the_history_at_the_same_cost_at_any_size(
    client, django_assert_max_num_queries, ops, size
):
    pilot = PilotFactory(stage="paused", paused_from="pilot")
    add_history(pilot, size, ops)
    client.force_login(ops)
    # The page's own budget (tests/web/test_query_budgets.py) plus the history: its records,
    # then the people and the teams they name, one query each; the conclusion and the open
    # request for a decision, one query each.
    with django_assert_max_num_queries(22):
        response = client.get(reverse("pilot_detail", args=[pilot.pk]))
    html = response.content.decode()
    assert "Proposal edited by its lead" in html
    assert f"Reason {size - 1}" in html
    assert "<del>Pilot</del> → <ins>Paused</ins>" in html
    assert "Trust fell." in html
