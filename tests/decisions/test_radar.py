"""/radar/: the tech radar of AI tools and uses, placed by their pilots' stages, with each
entry's ring history and its moves since the last quarter replayed from the stage history and
the tool's recorded status."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from decisions import radar
from pilots import tools
from pilots.models import Pilot, Stage, StageChange
from tests.factories import AIToolFactory, PilotFactory, TeamFactory
from tests.web.test_query_budgets import SIZES, populate

pytestmark = pytest.mark.django_db

URL = reverse("radar")
# Mid-quarter: the quarter started on 1 April 2026.
NOW = datetime.datetime(2026, 5, 15, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def copilot():
    return AIToolFactory(name="Support Copilot", approval_status="approved")


@pytest.fixture
def reader(client, outsider):
    client.force_login(outsider)
    return client


def entries(user, **kwargs) -> dict[tuple[str, str], radar.Entry]:
    return {(e.tool, e.use): e for e in radar.build(user, **kwargs)["entries"]}


def moved(pilot, to_stage, *, at, from_stage=None, action="move"):
    """A stage change as the lifecycle records it, dated."""
    StageChange.objects.create(
        pilot=pilot,
        action=action,
        from_stage=from_stage or pilot.stage,
        to_stage=to_stage,
        created_at=at,
    )
    Pilot.objects.filter(pk=pilot.pk).update(
        stage=to_stage,
        stage_changed_at=at,
        paused_from=from_stage if to_stage == Stage.PAUSED else "",
    )
    pilot.refresh_from_db()


@pytest.mark.parametrize(
    ("stage", "ring"),
    [
        (Stage.SANDBOX, "assess"),
        (Stage.PILOT, "trial"),
        (Stage.APPROVED, "adopt"),
        (Stage.STOPPED, "hold"),
        (Stage.RETIRED, "hold"),
    ],
)
def test_each_stage_places_its_entry_in_its_ring(outsider, copilot, stage, ring):
    PilotFactory(tool=copilot, title="Ticket reply drafts", stage=stage)
    entry = entries(outsider)["Support Copilot", "Ticket reply drafts"]
    assert entry.ring == ring


def test_drafts_and_proposals_are_not_on_the_radar(ops, copilot):
    PilotFactory(tool=copilot, title="Still a draft", stage=Stage.DRAFT)
    PilotFactory(tool=copilot, title="Waiting", stage=Stage.PROPOSED)
    assert entries(ops) == {}


def test_an_entry_is_a_tool_and_a_use_placed_by_its_most_advanced_active_pilot(outsider, copilot):
    other_tool = AIToolFactory(name="Other", approval_status="approved")
    PilotFactory(tool=copilot, title="Ticket reply drafts", stage=Stage.SANDBOX)
    best = PilotFactory(tool=copilot, title="ticket  reply DRAFTS", stage=Stage.APPROVED)
    PilotFactory(tool=copilot, title="Ticket reply drafts", stage=Stage.STOPPED)
    PilotFactory(tool=other_tool, title="Ticket reply drafts", stage=Stage.PILOT)
    found = entries(outsider)
    assert set(found) == {
        ("Support Copilot", "ticket  reply DRAFTS"),
        ("Other", "Ticket reply drafts"),
    }
    entry = found["Support Copilot", "ticket  reply DRAFTS"]
    assert (entry.ring, entry.placed_by["pk"], len(entry.pilots)) == ("adopt", best.pk, 3)
    assert found["Other", "Ticket reply drafts"].ring == "trial"


def test_an_active_pilot_keeps_its_entry_off_hold_whatever_ended_before(outsider, copilot):
    PilotFactory(tool=copilot, title="Drafts", stage=Stage.RETIRED)
    PilotFactory(tool=copilot, title="Drafts", stage=Stage.SANDBOX)
    assert entries(outsider)["Support Copilot", "Drafts"].ring == "assess"


def test_a_paused_pilot_holds_its_entry_in_the_ring_it_left(outsider, copilot):
    PilotFactory(tool=copilot, title="Drafts", stage=Stage.PAUSED, paused_from=Stage.PILOT)
    entry = entries(outsider)["Support Copilot", "Drafts"]
    assert (entry.ring, entry.paused) == ("trial", True)


def test_a_tool_that_is_not_allowed_puts_every_entry_of_it_on_hold(outsider, ops, copilot):
    PilotFactory(tool=copilot, title="Drafts", stage=Stage.APPROVED)
    tools.save_tool(copilot.pk, actor=ops, fields={"approval_status": "not_allowed"})
    assert entries(outsider)["Support Copilot", "Drafts"].ring == "hold"


def test_the_quadrant_is_the_data_classification_of_the_placing_pilot(outsider, copilot):
    PilotFactory(tool=copilot, title="Drafts", stage=Stage.PILOT, data_classification="public")
    assert entries(outsider)["Support Copilot", "Drafts"].quadrant == "public"


@time_machine.travel(NOW, tick=False)
def test_ring_history_and_moves_since_the_last_quarter_come_from_the_stage_history(
    outsider, copilot
):
    pilot = PilotFactory(tool=copilot, title="Drafts", stage=Stage.PROPOSED)
    approved_at = datetime.datetime(2026, 2, 10, 9, 0, tzinfo=datetime.UTC)
    promoted_at = datetime.datetime(2026, 4, 20, 9, 0, tzinfo=datetime.UTC)
    moved(pilot, Stage.SANDBOX, at=approved_at)
    moved(pilot, Stage.PILOT, at=promoted_at)
    unchanged = PilotFactory(tool=copilot, title="Summaries", stage=Stage.PROPOSED)
    moved(unchanged, Stage.SANDBOX, at=approved_at)
    fresh = PilotFactory(tool=copilot, title="Search", stage=Stage.PROPOSED)
    moved(fresh, Stage.SANDBOX, at=promoted_at)

    built = radar.build(outsider)
    assert timezone.localtime(built["since"]).date() == datetime.date(2026, 4, 1)
    found = {(e.tool, e.use): e for e in built["entries"]}
    drafts = found["Support Copilot", "Drafts"]
    assert drafts.history == [(approved_at, "assess"), (promoted_at, "trial")]
    assert (drafts.previous_ring, drafts.movement) == ("assess", "moved")
    assert found["Support Copilot", "Summaries"].movement == "unchanged"
    assert (
        found["Support Copilot", "Search"].previous_ring,
        found["Support Copilot", "Search"].movement,
    ) == (None, "new")
    rings = {r["key"]: r for r in built["rings"]}
    assert [e.use for e in rings["trial"]["moved_in"]] == ["Drafts"]
    assert [e.use for e in rings["assess"]["moved_out"]] == ["Drafts"]
    assert [e.use for e in rings["assess"]["moved_in"]] == ["Search"]


@time_machine.travel(NOW, tick=False)
def test_a_tool_banned_this_quarter_moves_its_entries_to_hold_from_that_day(outsider, ops, copilot):
    pilot = PilotFactory(tool=copilot, title="Drafts", stage=Stage.PILOT)
    approved_at = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
    moved(pilot, Stage.APPROVED, at=approved_at, from_stage=Stage.PILOT)
    with time_machine.travel(datetime.datetime(2026, 5, 2, 8, 0, tzinfo=datetime.UTC), tick=False):
        tools.save_tool(copilot.pk, actor=ops, fields={"approval_status": "not_allowed"})
    entry = entries(outsider)["Support Copilot", "Drafts"]
    assert entry.history == [
        (approved_at, "adopt"),
        (datetime.datetime(2026, 5, 2, 8, 0, tzinfo=datetime.UTC), "hold"),
    ]
    assert (entry.previous_ring, entry.ring, entry.movement) == ("adopt", "hold", "moved")


def test_the_page_draws_the_radar_and_lists_the_same_entries_in_a_table(reader, copilot):
    PilotFactory(tool=copilot, title="Ticket reply drafts", stage=Stage.APPROVED)
    PilotFactory(tool=copilot, title="Ticket reply drafts", stage=Stage.STOPPED)
    PilotFactory(tool=copilot, title="Knowledge base search", stage=Stage.PILOT)
    response = reader.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    svg = re.search(r'<svg[^>]*id="radar-chart".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in svg
    assert '<title id="radar-title">Tech radar of AI tools and uses</title>' in svg
    assert "Adopt: 1 (" in svg and "Trial: 1 (" in svg
    drawn = dict(re.findall(r'data-entry="(\d+)" data-ring="(\w+)"', svg))
    rows = re.findall(r'<tr class="radar-row ring-\w+" data-entry="(\d+)" data-ring="(\w+)"', html)
    assert drawn == dict(rows) == {"1": "adopt", "2": "trial"}
    assert "Ticket reply drafts" in html and "Knowledge base search" in html
    assert "2 pilots of this use" in html
    assert f'href="{URL}" aria-current="page"' in html


def test_the_page_says_so_when_nothing_is_on_the_radar(reader):
    html = reader.get(URL).content.decode()
    assert "the radar is empty" in html
    assert 'id="radar-chart"' not in html


def test_the_radar_is_for_signed_in_people_only(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_radar_counts_only_pilots_the_person_may_see(client, outsider, lead, team, copilot):
    # A pilot is on the radar once it reached a sandbox, which every signed-in person may see;
    # the radar still asks visible_to, so a narrower rule would narrow it too.
    PilotFactory(tool=copilot, title="Ours", team=team, lead=lead, stage=Stage.SANDBOX)
    elsewhere = TeamFactory(name="Legal", slug="legal")
    PilotFactory(tool=copilot, title="Theirs", team=elsewhere, stage=Stage.PILOT)
    client.force_login(outsider)
    assert set(entries(outsider)) == {("Support Copilot", "Ours"), ("Support Copilot", "Theirs")}
    assert client.get(URL).context["entries"][0].tool == "Support Copilot"


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}_pilots")
def pilots(request, team, lead, participant):
    return populate(request.param, team=team, lead=lead, participant=participant)


# Session, user, Ops or not, the navigation's "leads a team", the pilots with their tool and
# team, their stage changes, the tools' recorded status changes — whatever the number of
# pilots.
def test_the_radar_costs_the_same_queries_at_10_and_1000_pilots(
    client, django_assert_max_num_queries, pilots, lead
):
    client.force_login(lead)
    with django_assert_max_num_queries(7):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.context["entries"]
