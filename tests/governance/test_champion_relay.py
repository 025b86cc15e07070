"""A champion relays a tool declaration for someone who prefers not to be named (amnesty)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.exceptions import PermissionRefused
from core.models import ChangeRecord
from pilots import declarations
from pilots.models import ToolDeclaration
from tests.factories import OpsUserFactory, TeamFactory
from tests.governance.test_champions import member, named

pytestmark = pytest.mark.django_db

FORM = {
    "tool_name": "Whisper",
    "vendor": "OpenAI",
    "used_for": "transcribing customer calls",
    "data_classification": "confidential",
}


def test_a_relayed_declaration_names_nobody_and_counts_for_the_tool_and_team(client, settings):
    settings.DECLARATION_COUNT_THRESHOLD = 3
    team = TeamFactory(name="Support")
    champion = named(team).user
    for _ in range(2):
        declarations.declare(
            user=member(team),
            team=team,
            tool_name="Whisper",
            used_for="notes",
            data_classification="internal",
        )
    assert declarations.counts_by_tool_and_team() == []  # two: under the threshold
    client.force_login(champion)
    response = client.post(reverse("champion_relay"), {**FORM, "team": team.pk})
    assert response.status_code == 302
    relayed = ToolDeclaration.objects.get(used_for="transcribing customer calls")
    assert relayed.declared_by_id is None and relayed.team == team
    assert (relayed.vendor, relayed.data_classification) == ("OpenAI", "confidential")
    assert timezone.localtime(relayed.created_at).time() == datetime.time()  # the day only
    assert not ToolDeclaration.objects.named().filter(pk=relayed.pk).exists()
    assert not declarations.declarations_of(champion).exists()
    assert not ChangeRecord.objects.filter(actor=champion).exists()
    home = client.get(reverse("champion_home")).content.decode()
    assert "transcribing customer calls" not in home  # anonymous: never listed one by one
    assert declarations.counts_by_tool_and_team() == [
        {"tool": "Whisper", "total": 3, "teams": [{"team": "Support", "count": 3}], "hidden": 0}
    ]


def test_the_champion_home_links_to_the_relay_form(client):
    team = TeamFactory()
    client.force_login(named(team).user)
    assert reverse("champion_relay") in client.get(reverse("champion_home")).content.decode()
    assert client.get(reverse("champion_relay")).status_code == 200


def test_a_non_champion_cannot_relay_nor_a_champion_for_another_team(client):
    team = TeamFactory(name="Support")
    other = TeamFactory(name="Finance")
    champion = named(team).user
    for outsider in (member(team), OpsUserFactory()):
        client.force_login(outsider)
        assert client.get(reverse("champion_relay")).status_code == 403
        response = client.post(reverse("champion_relay"), {**FORM, "team": team.pk})
        assert response.status_code == 403
    client.force_login(champion)
    response = client.post(reverse("champion_relay"), {**FORM, "team": other.pk})
    assert response.status_code == 400
    with pytest.raises(PermissionRefused):
        declarations.relay(
            other,
            champion=champion,
            tool_name="Whisper",
            used_for="x",
            data_classification="internal",
        )
    assert not ToolDeclaration.objects.exists()
