"""The demo has an AI champion, so her pages can be walked: listed on the sign-in page, signs in
with the demo password, and finds her team's pilots, a training session and the relay form."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.models import ChangeRecord
from governance.demo import DEMO_CHAMPION
from governance.models import TeamChampion, TrainingSession
from pilots.models import Participation

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, capsys):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    return capsys.readouterr().out


def test_the_demo_champion_is_listed_signs_in_and_walks_her_pages(client, seeded):
    [champion] = TeamChampion.objects.select_related("user", "team")
    assert (champion.user.username, champion.team.slug) == (DEMO_CHAMPION, "support")
    assert f"\n  {DEMO_CHAMPION} " in seeded and "AI champion of Customer support" in seeded
    sign_in = client.get(reverse("login")).content.decode()
    row = re.search(rf"<code>{DEMO_CHAMPION}</code></td><td>([^<]*)</td><td>([^<]*)<", sign_in)
    assert row and row.groups() == (
        "Carla Champion",
        "member of Customer support, AI champion of Customer support",
    )

    signed_in = client.post(reverse("login"), {"username": DEMO_CHAMPION, "password": "demo"})
    assert signed_in.status_code == 302
    home = client.get(reverse("champion_home"))
    assert home.status_code == 200
    page = home.content.decode()
    assert "Knowledge base search" in page  # a Customer support demo pilot
    assert "Prompting safely" in page  # the training session she recorded
    assert client.get(reverse("champion_relay")).status_code == 200
    # Through the domain functions, with their records; she takes part in no demo story.
    assert {"champion.named", "training.recorded"} <= set(
        ChangeRecord.objects.values_list("action", flat=True)
    )
    assert not Participation.objects.filter(user__username=DEMO_CHAMPION).exists()


def test_seeding_again_names_her_and_records_her_session_once(seeded):
    call_command("seed_demo", stdout=StringIO())
    assert TeamChampion.objects.count() == 1
    assert TrainingSession.objects.count() == 1
