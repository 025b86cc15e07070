"""The learnings library (/learnings/) and the learnings the propose page shows about a tool."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import Stage
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    AIToolFactory,
    ConclusionFactory,
    PilotFactory,
    StoppedStageChangeFactory,
    SuccessMetricFactory,
    TeamFactory,
    findings_for,
)

pytestmark = pytest.mark.django_db

URL = reverse("learnings")


def conclude(*, at: datetime.datetime | None = None, evidence: dict | None = None, **pilot):
    pilot.setdefault("stage", Stage.STOPPED)
    change = StoppedStageChangeFactory(
        pilot=PilotFactory(**pilot),
        created_at=at or timezone.now(),
        evidence=evidence or {},
    )
    return ConclusionFactory(stage_change=change)


def titles(response) -> list[str]:
    return [row["pilot"].title for row in response.context["rows"]]


@pytest.fixture
def signed_in(client, outsider):
    client.force_login(outsider)
    return client


def test_the_library_lists_concluded_pilots_with_outcome_takeaways_and_tool(signed_in):
    conclude(title="Ticket drafts", tool=AIToolFactory(name="Support Copilot"))
    PilotFactory(title="Still running", stage=Stage.PILOT)
    response = signed_in.get(URL)
    assert titles(response) == ["Ticket drafts"]
    html = response.content.decode()
    assert "Not adopted: no value" in html
    assert "Agents kept rewriting the drafts." in html
    assert "Support Copilot" in html
    assert "We believe that using the copilot to draft ticket replies" in html


def test_the_library_shows_only_pilots_the_person_may_see(client, lead, team, outsider):
    # A rejected proposal stays visible only to its team and Ops (visible_to).
    conclude(title="Our hidden one", team=team, lead=lead, stage=Stage.PROPOSED)
    conclude(title="Public one")
    client.force_login(outsider)
    assert titles(client.get(URL)) == ["Public one"]
    client.force_login(lead)
    assert sorted(titles(client.get(URL))) == ["Our hidden one", "Public one"]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_text_search_finds_words_in_the_takeaways_and_the_problem(signed_in):
    first = conclude(title="Ticket drafts")
    first.takeaways = "Hallucinated product names confused customers."
    first.save()
    conclude(title="Invoice matching", problem="Month-end invoice reconciliation is slow.")
    assert titles(signed_in.get(URL, {"q": "hallucinated names"})) == ["Ticket drafts"]
    assert titles(signed_in.get(URL, {"q": "reconciliation"})) == ["Invoice matching"]
    assert titles(signed_in.get(URL, {"q": "nothing-like-this"})) == []


@pytest.mark.postgres
def test_text_search_uses_postgresql_full_text_search(postgres, signed_in):
    first = conclude(title="Ticket drafts")
    first.takeaways = "Hallucinated product names confused customers."
    first.save()
    conclude(title="Other")
    # websearch syntax: a quoted phrase and a negated word.
    assert titles(signed_in.get(URL, {"q": '"product names" -invoices'})) == ["Ticket drafts"]


def test_filters_by_tool_team_outcome_and_year(signed_in):
    copilot = AIToolFactory(name="Support Copilot")
    finance = TeamFactory(name="Legal", slug="legal")
    last_year = timezone.now().replace(month=6, day=1) - datetime.timedelta(days=365)
    conclude(title="Copilot one", tool=copilot)
    conclude(title="Finance one", team=finance)
    risky = conclude(title="Risky one")
    risky.outcome = "risk"
    risky.save()
    old = conclude(title="Old one", at=last_year)
    old.concluded_at = last_year
    old.save()
    assert titles(signed_in.get(URL, {"tool": copilot.pk})) == ["Copilot one"]
    assert titles(signed_in.get(URL, {"team": finance.pk})) == ["Finance one"]
    assert titles(signed_in.get(URL, {"outcome": "risk"})) == ["Risky one"]
    assert titles(signed_in.get(URL, {"year": last_year.year})) == ["Old one"]


def test_key_figures_are_those_of_the_snapshot_the_pilot_was_concluded_on(signed_in, ops):
    pilot = PilotFactory(stage=Stage.PILOT, title="Drafts")
    SuccessMetricFactory(
        pilot=pilot, name="Answer quality", question_key="quality", target=4.5, min_responses=5
    )
    add_round(pilot, scores("quality", [2, 3, 2, 3, 2, 3]), weeks_ago=1)
    lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="Too low.",
        conclusion=findings_for(Stage.PILOT, Action.STOP),
    )
    # A later round changes today's figures, not the ones the decision was made on.
    add_round(pilot, scores("quality", [5, 5, 5, 5, 5, 5]))
    [row] = signed_in.get(URL).context["rows"]
    [figure] = row["figures"]
    assert figure["metric"] == "Answer quality"
    assert figure["estimate"] == pytest.approx(2.5)
    assert figure["status_label"] == "Not met"


def test_a_withheld_round_gives_no_key_figure(signed_in, ops):
    pilot = PilotFactory(stage=Stage.PILOT, anonymous_feedback=True)
    SuccessMetricFactory(pilot=pilot, name="Answer quality", question_key="quality")
    # Two answers: below the anonymity threshold, the round's figures are withheld.
    add_round(pilot, scores("quality", [1, 5]))
    lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="Nobody answers.",
        conclusion=findings_for(Stage.PILOT, Action.STOP),
    )
    [row] = signed_in.get(URL).context["rows"]
    assert [f["estimate"] for f in row["figures"]] == [None]


def test_the_library_is_paginated_and_keeps_the_filters(signed_in):
    tool = AIToolFactory(name="Copilot")
    for _ in range(learnings_per_page() + 1):
        conclude(tool=tool)
    first = signed_in.get(URL, {"tool": tool.pk})
    assert len(first.context["rows"]) == learnings_per_page()
    assert f"tool={tool.pk}&amp;page=2" in first.content.decode()
    second = signed_in.get(URL, {"tool": tool.pk, "page": 2})
    assert len(second.context["rows"]) == 1


def learnings_per_page() -> int:
    from decisions.views import LEARNINGS_PER_PAGE

    return LEARNINGS_PER_PAGE


@pytest.mark.parametrize("size", [10, 200])
def test_the_library_pays_the_same_queries_at_10_and_200_concluded_pilots(
    signed_in, django_assert_max_num_queries, size
):
    for i in range(size):
        conclude(
            evidence={
                "version": 2,
                "metrics": [
                    {
                        "metric": f"Quality {i}",
                        "status": "met",
                        "estimate": 4.2,
                        "target": 4.0,
                        "direction": "higher",
                        "min_responses": 5,
                        "n": 9,
                        "rounds": 2,
                        "ci": [4.05, 4.4],
                    }
                ],
            }
        )
    # Session, user, Ops or not, the navigation's "leads a team", years, tools and teams of the
    # filters, count, page of conclusions with their pilot, team, tool and stage change.
    with django_assert_max_num_queries(9):
        response = signed_in.get(URL, {"q": "ticket"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(size, learnings_per_page())


# --- The propose page ----------------------------------------------------------------------------


def test_the_propose_page_shows_what_earlier_pilots_on_the_chosen_tool_taught(client, lead, team):
    copilot = AIToolFactory(name="Support Copilot", approval_status="approved")
    conclude(title="Ticket drafts", tool=copilot)
    conclude(title="Other tool's pilot")
    client.force_login(lead)
    page = client.post(reverse("pilot_propose"), {"action": "tool_hints", "tool": copilot.pk})
    html = page.content.decode()
    assert "What earlier pilots on this tool taught" in html
    assert "Ticket drafts" in html
    assert "Agents kept rewriting the drafts." in html
    assert "Other tool&#x27;s pilot" not in html and "Other tool's pilot" not in html
    # Nothing was saved: it only showed the learnings.
    assert not team.pilots.exists()


def test_the_propose_page_without_a_tool_shows_no_learnings(client, lead, team):
    conclude(title="Ticket drafts")
    client.force_login(lead)
    html = client.get(reverse("pilot_propose")).content.decode()
    assert "Ticket drafts" not in html
    assert 'id="tool-learnings"' not in html


def test_the_propose_page_shows_a_tool_with_no_conclusion_yet(client, lead, team):
    tool = AIToolFactory(name="Brand new", approval_status="approved")
    client.force_login(lead)
    page = client.post(reverse("pilot_propose"), {"action": "tool_hints", "tool": tool.pk})
    assert "No pilot on this tool has been concluded yet." in page.content.decode()
