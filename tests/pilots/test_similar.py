"""Duplicate detection at intake: similar pilots on the same tool, with their outcome."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from pilots import access, similar
from tests.factories import (
    AIToolFactory,
    ConclusionFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
)
from tests.web.conftest import proposal_post

pytestmark = pytest.mark.django_db

EARLIER = "Support agents spend too long writing replies to customer tickets."
TYPED = "Our agents spend too long writing ticket replies for customers."


@pytest.fixture
def tool():
    return AIToolFactory(name="Copilot", max_data_classification="confidential")


@pytest.fixture
def sales():
    return TeamFactory(name="Sales", slug="sales")


def test_a_running_and_a_concluded_pilot_with_a_similar_problem_are_found(lead, tool, sales):
    running = PilotFactory(team=sales, tool=tool, stage="pilot", problem=EARLIER)
    concluded = ConclusionFactory(
        stage_change__pilot=PilotFactory(team=sales, tool=tool, stage="stopped", problem=EARLIER),
        takeaways="Agents rewrote most drafts.",
    ).pilot
    found = similar.similar_pilots(lead, tool_id=tool.pk, problem=TYPED)
    assert {s.pilot for s in found} == {running, concluded}
    by_pilot = {s.pilot: s for s in found}
    assert by_pilot[concluded].conclusion.takeaways == "Agents rewrote most drafts."
    assert by_pilot[running].conclusion is None and by_pilot[running].is_running


def test_other_tools_other_problems_and_drafts_are_not_shown(lead, tool, sales):
    PilotFactory(team=sales, tool=AIToolFactory(), stage="pilot", problem=EARLIER)
    PilotFactory(team=sales, tool=tool, stage="pilot", problem="Invoices are matched by hand.")
    PilotFactory(team=sales, tool=tool, stage="proposed", problem=EARLIER)
    PilotFactory(team=sales, tool=tool, stage="draft", problem=EARLIER)
    assert similar.similar_pilots(lead, tool_id=tool.pk, problem=TYPED) == []


def test_pilots_the_viewer_may_not_see_are_not_shown(lead, tool, sales, monkeypatch):
    hidden = PilotFactory(team=sales, tool=tool, stage="pilot", problem=EARLIER)
    shown = PilotFactory(tool=tool, stage="pilot", problem=EARLIER)
    real_visible = access.visible
    # Whatever the visibility rule becomes, duplicate detection asks it (Pilot.objects.visible_to).
    monkeypatch.setattr(
        access, "visible", lambda pilots, user: real_visible(pilots, user).exclude(team=sales)
    )
    assert [s.pilot for s in similar.similar_pilots(lead, tool_id=tool.pk, problem=TYPED)] == [
        shown
    ]
    assert hidden.pk not in [
        s.pilot.pk for s in similar.similar_pilots(lead, tool_id=tool.pk, problem=TYPED)
    ]
    inactive = UserFactory(is_active=False)
    assert similar.similar_pilots(inactive, tool_id=tool.pk, problem=TYPED) == []


def test_the_propose_page_shows_similar_pilots_after_a_post_with_errors(
    client, lead, team, tool, sales
):
    ConclusionFactory(
        stage_change__pilot=PilotFactory(
            team=sales, tool=tool, stage="stopped", problem=EARLIER, title="Sales replies"
        ),
        takeaways="Agents rewrote most drafts.",
    )
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, title="", problem=TYPED)
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Similar pilots on this tool" in html
    assert "Sales replies" in html
    assert "Not adopted: no value" in html
    assert "Agents rewrote most drafts." in html


def test_checking_for_similar_pilots_saves_nothing_and_says_when_there_are_none(
    client, lead, team, tool
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, action="similar")
    )
    assert response.status_code == 200
    assert (
        "No running or concluded pilot on this tool has a similar problem."
        in response.content.decode()
    )
    assert not lead.led_pilots.exists()


def test_the_ops_review_of_a_proposed_pilot_shows_similar_pilots(client, ops, tool, sales):
    earlier = PilotFactory(
        team=sales, tool=tool, stage="approved", problem=EARLIER, title="Adopted drafts"
    )
    proposed = PilotFactory(tool=tool, stage="proposed", problem=TYPED)
    client.force_login(ops)
    html = client.get(reverse("admin:pilots_pilot_change", args=[proposed.pk])).content.decode()
    assert "Similar pilots on this tool" in html
    assert "Adopted drafts" in html
    assert reverse("admin:pilots_pilot_change", args=[earlier.pk]) in html
    # Not on a pilot past its review.
    html = client.get(reverse("admin:pilots_pilot_change", args=[earlier.pk])).content.decode()
    assert "Similar pilots on this tool" not in html


def test_significant_words_leave_out_short_and_common_words():
    assert similar.significant_words("The agents spend too much time with THE tickets") == {
        "agents",
        "spend",
        "time",
        "tickets",
    }


@pytest.mark.postgres
def test_trigrams_find_a_problem_spelled_differently_and_rank_the_closest_first(
    postgres, lead, tool
):
    assert connection.vendor == "postgresql"
    close = PilotFactory(tool=tool, stage="pilot", problem="Summarise meetings.")
    farther = PilotFactory(
        tool=tool, stage="pilot", problem="Summarising long meetings takes an hour."
    )
    PilotFactory(tool=tool, stage="pilot", problem="Invoices are matched by hand.")
    # One significant word in common only ("meetings"): the word match would miss both.
    found = similar.similar_pilots(lead, tool_id=tool.pk, problem="Summarize meetings")
    assert [s.pilot for s in found] == [close, farther]
    assert found[0].score > found[1].score >= similar.TRIGRAM_THRESHOLD
