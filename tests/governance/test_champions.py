"""AI champions: named by Ops per team, a home for their teams, training sessions, coverage."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord
from governance import champions
from governance.models import TeamChampion, TrainingSession
from pilots.models import DecisionRequest, GuardrailBreach, Pilot, ToolDeclaration
from tests.factories import (
    CharterVersionFactory,
    GuardrailFactory,
    MembershipFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def member(team, **kwargs):
    user = UserFactory(**kwargs)
    MembershipFactory(team=team, user=user, role="member")
    return user


def named(team, user=None):
    return champions.name_champion(
        team,
        actor=OpsUserFactory(),
        user=user or member(team),
        duties="Test new tools first; run a monthly clinic.",
        hours_per_month=8,
    )


def test_ops_name_a_team_member_champion_with_duties_and_time_and_it_is_recorded():
    team = TeamFactory()
    champion = named(team)
    assert (champion.team, champion.hours_per_month) == (team, 8)
    record = ChangeRecord.objects.get(action="champion.named")
    assert record.changes["user"] == [None, champion.user_id]


def test_naming_a_champion_is_refused_to_non_ops_outside_the_team_and_twice():
    team = TeamFactory()
    person = member(team)
    with pytest.raises(PermissionRefused):
        champions.name_champion(team, actor=person, user=person, duties="x", hours_per_month=4)
    with pytest.raises(ValidationFailed) as outside:
        champions.name_champion(
            team, actor=OpsUserFactory(), user=UserFactory(), duties="x", hours_per_month=4
        )
    assert (outside.value.code, outside.value.field) == ("not_a_member", "user")
    with pytest.raises(ValidationFailed) as no_time:
        champions.name_champion(
            team, actor=OpsUserFactory(), user=person, duties="x", hours_per_month=0
        )
    assert no_time.value.field == "hours_per_month"
    named(team, person)
    with pytest.raises(ValidationFailed) as twice:
        named(team, person)
    assert twice.value.code == "already_champion"
    assert TeamChampion.objects.count() == 1


def test_the_database_refuses_a_champion_without_time_or_twice():
    team = TeamFactory()
    person = member(team)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamChampion.objects.create(team=team, user=person, duties="x", hours_per_month=0)
    TeamChampion.objects.create(team=team, user=person, duties="x", hours_per_month=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamChampion.objects.create(team=team, user=person, duties="y", hours_per_month=2)


def test_coverage_lists_teams_with_pilots_or_declarations_but_no_champion():
    ops = OpsUserFactory()
    running = TeamFactory(name="Running")
    PilotFactory(team=running, stage="pilot")
    declared = TeamFactory(name="Declared")
    ToolDeclaration.objects.create(
        declared_by=member(declared), team=declared, tool_name="Chat", used_for="drafts"
    )
    covered = TeamFactory(name="Covered")
    PilotFactory(team=covered, stage="pilot")
    named(covered)
    ended = TeamFactory(name="Ended")
    PilotFactory(team=ended, stage="stopped")
    TeamFactory(name="Quiet")
    assert [t.name for t in champions.teams_without_champion(actor=ops)] == [
        "Declared",
        "Running",
    ]
    with pytest.raises(PermissionRefused):
        champions.teams_without_champion(actor=UserFactory())


def champion_world(pilots: int):
    team = TeamFactory(name="Support")
    champion = named(team).user
    CharterVersionFactory()
    for i in range(pilots):
        pilot = PilotFactory(team=team, stage="pilot", title=f"Pilot {i}")
        ParticipationFactory(pilot=pilot, acknowledged=False)
        GuardrailBreach.objects.create(
            pilot=pilot, guardrail=GuardrailFactory(pilot=pilot), detail="Trust fell"
        )
        DecisionRequest.objects.create(
            pilot=pilot, action="promote", message="Ready", requested_by=pilot.lead
        )
    ToolDeclaration.objects.create(
        declared_by=member(team, first_name="Zelda"),
        team=team,
        tool_name="Whisper",
        used_for="meeting notes",
    )
    other = TeamFactory(name="Finance")
    PilotFactory(team=other, stage="pilot", title="Finance pilot")
    return champion


def test_a_champion_s_home_shows_their_teams_pilots_breaches_requests_gaps_and_declarations(
    client,
):
    champion = champion_world(2)
    client.force_login(champion)
    page = client.get(reverse("champion_home")).content.decode()
    assert "Pilot 0" in page and "Pilot 1" in page and "Finance pilot" not in page
    assert page.count("Pilot 0") >= 3  # listed, waiting for a decision, with an open breach
    assert "Pilot 0: 1 of 1 participants not yet" in page
    assert "Whisper" in page and "meeting notes" in page
    assert "Zelda" not in page  # a declaration never names who declared


@pytest.mark.parametrize("pilots", [2, 8])
def test_the_champion_home_needs_the_same_queries_for_any_number_of_pilots(
    client, django_assert_max_num_queries, pilots
):
    champion = champion_world(pilots)
    client.force_login(champion)
    with django_assert_max_num_queries(18):
        assert client.get(reverse("champion_home")).status_code == 200


def test_someone_who_champions_no_team_has_no_home(client):
    client.force_login(UserFactory())
    assert client.get(reverse("champion_home")).status_code == 403


def test_a_champion_records_a_training_session_for_their_team_only(client):
    team = TeamFactory(name="Support")
    champion = named(team).user
    other = TeamFactory(name="Finance")
    client.force_login(champion)
    form = {
        "topic": "Prompting safely",
        "held_on": "2026-11-20",
        "attendees": "12",
        "material_url": "https://intranet.example.com/slides",
    }
    refused = client.post(reverse("champion_home"), {**form, "team": other.pk})
    assert refused.status_code == 400 and not TrainingSession.objects.exists()
    assert client.post(reverse("champion_home"), {**form, "team": team.pk}).status_code == 302
    session = TrainingSession.objects.get()
    assert (session.team, session.attendees, session.recorded_by) == (team, 12, champion)
    assert session.held_on == datetime.date(2026, 11, 20)
    assert ChangeRecord.objects.filter(action="training.recorded").count() == 1
    with pytest.raises(PermissionRefused):
        champions.record_training(
            other, actor=champion, topic="x", held_on=session.held_on, attendees=3
        )


def test_only_ops_see_the_champion_coverage_page(client):
    client.force_login(UserFactory())
    assert client.get(reverse("champion_coverage")).status_code == 403
    client.force_login(OpsUserFactory())
    assert client.get(reverse("champion_coverage")).status_code == 200


def test_the_portfolio_shows_champions_and_recent_sessions_per_team(client):
    support = TeamFactory(name="Support")
    named(support, member(support, first_name="Ada", last_name="Lovelace"))
    today = timezone.localdate()
    for days in (10, 100, 400):  # the last one is older than 12 months
        TrainingSession.objects.create(
            team=support, topic="x", held_on=today - datetime.timedelta(days=days), attendees=4
        )
    quiet = TeamFactory(name="Quiet")  # a pilot, no champion, no session: not listed
    hidden = TeamFactory(name="Hidden")  # a champion, but no pilot the viewer sees
    named(hidden)
    for team in (support, quiet, hidden):
        PilotFactory(team=team, stage="pilot")
    summary = champions.per_team_summary(Pilot.objects.exclude(team=hidden))
    assert [(s.team.name, s.champions, s.recent_sessions) for s in summary] == [
        ("Support", ["Ada Lovelace"], 2)
    ]
    assert summary[0].last_session == today - datetime.timedelta(days=10)
    client.force_login(OpsUserFactory())
    page = client.get(reverse("portfolio")).content.decode()
    assert "AI champions and training, by team" in page and "Ada Lovelace" in page
