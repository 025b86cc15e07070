"""Open incidents on a champion's home: their teams' pilots and tools, without reporter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Incident
from pilots.models import ToolDeclaration
from tests.factories import AIToolFactory, PilotFactory, TeamFactory
from tests.governance.test_champions import member, named

pytestmark = pytest.mark.django_db


def incident(*, status="new", reporter=None, **about) -> Incident:
    return Incident.objects.create(
        kind="wrong_output",
        severity="high",
        description=f"Secret detail {Incident.objects.count()}",
        reporter=reporter,
        status=status,
        **about,
    )


def world(extra: int):
    team = TeamFactory(name="Support")
    champion = named(team).user
    pilot = PilotFactory(team=team, stage="pilot", title="Support bot")
    declared = AIToolFactory(name="Whisper")
    ToolDeclaration.objects.create(team=team, tool=declared, tool_name="Whisper", used_for="notes")
    elsewhere = PilotFactory(team=TeamFactory(name="Finance"), stage="pilot", title="Ledger AI")
    incident(pilot=pilot, reporter=member(team, first_name="Zelda", last_name="Named"))
    incident(tool=pilot.tool)  # anonymous, about a tool the team pilots
    incident(tool=declared)  # about a tool the team declared
    incident(pilot=pilot, status="closed")
    incident(pilot=elsewhere)
    for _ in range(extra):
        incident(pilot=pilot, status="investigating")
    return champion


def test_the_home_lists_open_incidents_of_the_teams_pilots_and_tools_without_reporter(client):
    client.force_login(world(0))
    page = client.get(reverse("champion_home")).content.decode()
    section = page.split('id="incidents-heading"')[1].split("</section>")[0]
    assert section.count("<li>") == 3  # not the closed one, nor the other team's
    assert "Support bot" in section and "Whisper" in section
    assert "Ledger AI" not in section
    assert "Zelda" not in page and "Named" not in page
    assert "Secret detail" not in page  # free text could say who wrote it


@pytest.mark.parametrize("extra", [1, 10])
def test_the_home_with_incidents_needs_the_same_queries_at_any_size(
    client, django_assert_max_num_queries, extra
):
    client.force_login(world(extra))
    with django_assert_max_num_queries(19):
        response = client.get(reverse("champion_home"))
    assert response.content.decode().count("Support bot") >= extra + 1
