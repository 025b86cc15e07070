"""The charter pages: acknowledging (EN/FR, safe Markdown), coverage for Ops, the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import ChangeRecord
from governance import charter
from governance.models import Acknowledgement, CharterVersion
from tests.factories import (
    CharterVersionFactory,
    GuardrailFactory,
    MetricGuardrailFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_charter_and_the_pilot_s_policy_rules_in_the_reader_s_language(client):
    CharterVersionFactory(
        body_en="# Charter\n\n**Be careful** <script>alert(1)</script>",
        body_fr="# Charte\n\n**Prudence** [lien](javascript:alert(1))",
    )
    pilot = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=pilot, description="No client data")
    MetricGuardrailFactory(pilot=pilot, description="Trust stays above 3")
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    client.force_login(person)
    url = reverse("charter_acknowledge", args=[pilot.pk])

    english = client.get(url).content.decode()
    assert "<h1>Charter</h1>" in english and "<strong>Be careful</strong>" in english
    assert "<script>alert" not in english and "&lt;script&gt;" in english
    assert "No client data" in english and "Trust stays above 3" not in english

    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<h1>Charte</h1>" in french and "<strong>Prudence</strong>" in french
    assert 'href="javascript' not in french


def test_acknowledging_needs_the_box_ticked(client):
    version = CharterVersionFactory()
    pilot = PilotFactory(stage="pilot")
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    client.force_login(person)
    url = reverse("charter_acknowledge", args=[pilot.pk])
    response = client.post(url, {"version": version.pk})
    assert response.status_code == 400
    assert not Acknowledgement.objects.exists()
    assert client.post(url, {"version": version.pk, "agree": "yes"}).status_code == 302
    page = client.get(url).content.decode()
    assert f"You acknowledged version {version.number}" in page
    ack = Acknowledgement.objects.get()
    assert (ack.user, ack.pilot, ack.version) == (person, pilot, version)


def test_a_stale_page_is_refused_after_a_new_version(client):
    old = CharterVersionFactory()
    CharterVersionFactory()
    pilot = PilotFactory(stage="pilot")
    client.force_login(ParticipationFactory(pilot=pilot, acknowledged=False).user)
    response = client.post(
        reverse("charter_acknowledge", args=[pilot.pk]), {"version": old.pk, "agree": "yes"}
    )
    assert response.status_code == 400
    assert "newer version" in response.content.decode()
    assert not Acknowledgement.objects.exists()


def test_someone_outside_the_pilot_cannot_acknowledge(client):
    version = CharterVersionFactory()
    pilot = PilotFactory(stage="pilot")
    client.force_login(UserFactory())
    url = reverse("charter_acknowledge", args=[pilot.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"version": version.pk, "agree": "yes"}).status_code == 403
    assert not Acknowledgement.objects.exists()


def make_pilots(team, count: int, *, acknowledged: int, participants: int) -> list:
    pilots = []
    for _ in range(count):
        pilot = PilotFactory(team=team, stage="pilot")
        for i in range(participants):
            ParticipationFactory(pilot=pilot, acknowledged=i < acknowledged)
        pilots.append(pilot)
    return pilots


def test_coverage_counts_acknowledgements_of_the_current_version_per_pilot_and_team():
    ops = OpsUserFactory()
    CharterVersionFactory()
    support, finance = TeamFactory(name="Support"), TeamFactory(name="Finance")
    [a] = make_pilots(support, 1, acknowledged=2, participants=3)
    [b] = make_pilots(support, 1, acknowledged=0, participants=2)
    [c] = make_pilots(finance, 1, acknowledged=4, participants=4)
    PilotFactory(team=finance, stage="stopped")  # ended: not listed
    # An acknowledgement by someone who no longer takes part does not count.
    leaver = ParticipationFactory(pilot=b)
    leaver.delete()
    # One of an older version does not count either: a newer version asks again.
    newer = charter.publish(actor=ops, body_en="v2")
    for participation in a.participations.all()[:1]:
        Acknowledgement.objects.create(user=participation.user, version=newer, pilot=a)

    version, teams = charter.coverage(actor=ops)
    assert version == newer
    rows = {row.pilot: (row.acknowledged, row.participants) for t in teams for row in t.pilots}
    assert rows == {a: (1, 3), b: (0, 2), c: (0, 4)}
    totals = {t.team.name: (t.acknowledged, t.participants) for t in teams}
    assert totals == {"Support": (1, 5), "Finance": (0, 4)}


def test_coverage_before_any_charter_counts_everyone_as_covered():
    make_pilots(TeamFactory(), 1, acknowledged=0, participants=2)
    version, [team] = charter.coverage(actor=OpsUserFactory())
    assert version is None and (team.acknowledged, team.participants) == (2, 2)


@pytest.mark.parametrize("pilots", [2, 8])
def test_the_coverage_page_needs_the_same_queries_for_any_number_of_pilots(
    client, django_assert_max_num_queries, pilots
):
    ops = OpsUserFactory()
    CharterVersionFactory()
    for i in range(pilots):
        make_pilots(
            TeamFactory(name=f"Team {i}", slug=f"team-{i}"), 1, acknowledged=1, participants=2
        )
    client.force_login(ops)
    # Session, user, Ops check, version, pilots with counts, acknowledgements per pilot, and
    # the base template's own (the nav).
    with django_assert_max_num_queries(10):
        response = client.get(reverse("charter_coverage"))
    assert response.status_code == 200
    assert response.content.decode().count("Team ") >= pilots


def test_only_ops_see_coverage(client):
    client.force_login(UserFactory())
    assert client.get(reverse("charter_coverage")).status_code == 403


def test_ops_publish_in_the_admin_and_a_published_version_cannot_be_changed(client):
    ops = OpsUserFactory(is_staff=True, is_superuser=True)
    client.force_login(ops)
    response = client.post(
        reverse("admin:governance_charterversion_add"),
        {"body_en": "# Rules\n\nBe kind.", "body_fr": "# Règles"},
    )
    assert response.status_code == 302
    version = CharterVersion.objects.get()
    assert (version.number, version.published_by) == (1, ops)
    assert ChangeRecord.objects.filter(action="charter.published").count() == 1
    client.post(
        reverse("admin:governance_charterversion_change", args=[version.pk]),
        {"body_en": "Changed"},
    )
    version.refresh_from_db()
    assert version.body_en == "# Rules\n\nBe kind."
    assert (
        client.post(
            reverse("admin:governance_charterversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    with translation.override("en"):
        assert CharterVersion.objects.filter(pk=version.pk).exists()
