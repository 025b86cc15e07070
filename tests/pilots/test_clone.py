"""Clone this pilot: a lead's own pilot or a concluded one, as a new draft only on submit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ChangeRecord
from feedback import pilot_questions
from feedback.models import Question
from pilots import access
from pilots.models import Pilot
from tests.factories import (
    AIToolFactory,
    ConclusionFactory,
    GuardrailFactory,
    MembershipFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    TeamFactory,
)
from tests.pilots.start_support import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(lead, team, participant):
    """A running pilot of the lead's, with a question of its own, a metric and a participant."""
    pilot = PilotFactory(
        lead=lead,
        team=team,
        stage="pilot",
        title="Reply drafts",
        problem="Ticket replies take too long.",
        planned_start=datetime.date(2026, 1, 5),
        planned_end=datetime.date(2026, 3, 6),
    )
    pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="reply_ok",
        text="Could you send the draft as it was?",
        kind="yes_no",
        language="en",
    )
    SuccessMetricFactory(pilot=pilot, name="Sent as drafted", question_key="reply_ok")
    SuccessMetricFactory(pilot=pilot, name="Quality", question_key="quality", baseline=None)
    GuardrailFactory(pilot=pilot, description="A human reads every reply.")
    ParticipationFactory(pilot=pilot, user=participant)
    return pilot


def _other_team_pilot(stage: str) -> Pilot:
    other = TeamFactory(name="Sales", slug="sales")
    return PilotFactory(team=other, stage=stage, title="Sales summaries", tool=AIToolFactory())


def test_a_lead_clones_their_own_pilot_into_a_new_draft_only_on_save(
    client, lead, team, participant, own
):
    client.force_login(lead)
    page = client.get(reverse("pilot_propose"), {"clone": own.pk})
    assert page.status_code == 200
    assert Pilot.objects.count() == 1  # nothing saved by opening the page
    data = form_data(page.content.decode())
    start = timezone.localdate() + datetime.timedelta(days=7)
    assert data["title"] == ["Copy of Reply drafts"]
    assert data["problem"] == ["Ticket replies take too long."]
    # Dates moved to the future, as long as the original ran (60 days).
    assert data["planned_start"] == [start.isoformat()]
    assert data["planned_end"] == [(start + datetime.timedelta(days=60)).isoformat()]
    assert data["team"] == [str(team.pk)]
    assert data["participants"] == [str(participant.pk)]
    assert data["origin"] == [f"clone:{own.pk}"]

    data["action"] = ["save"]
    response = client.post(reverse("pilot_propose"), data)
    assert response.status_code == 302
    copy = Pilot.objects.exclude(pk=own.pk).get()
    assert (copy.title, copy.stage, copy.tool_id) == ("Copy of Reply drafts", "draft", own.tool_id)
    assert list(copy.metrics.values_list("name", "question_key")) == [
        ("Sent as drafted", "reply_ok"),
        ("Quality", "quality"),
    ]
    assert list(copy.guardrails.values_list("description", flat=True)) == [
        "A human reads every reply."
    ]
    assert Question.objects.get(pilot=copy).key == "reply_ok"
    assert list(copy.participants.all()) == [participant]
    record = ChangeRecord.objects.get(action="pilot.created", subject_id=str(copy.pk))
    assert record.changes["cloned_from"] == [None, own.pk]
    # The source is untouched.
    assert own.metrics.count() == 2 and Question.objects.filter(pilot=own).count() == 1


def test_the_history_of_a_cloned_draft_says_which_pilot_it_came_from(client, lead, own):
    client.force_login(lead)
    data = form_data(client.get(reverse("pilot_propose"), {"clone": own.pk}).content.decode())
    data["action"] = ["save"]
    client.post(reverse("pilot_propose"), data)
    copy = Pilot.objects.exclude(pk=own.pk).get()
    html = client.get(copy.get_absolute_url()).content.decode()
    assert "cloned from pilot" in html
    assert f"#{own.pk}" in html


def test_a_lead_cannot_clone_another_teams_running_pilot(client, lead):
    running = _other_team_pilot("pilot")
    client.force_login(lead)
    assert not access.may_clone(lead, running)
    assert client.get(reverse("pilot_propose"), {"clone": running.pk}).status_code == 404
    posted = client.post(reverse("pilot_propose"), {"origin": f"clone:{running.pk}"})
    assert posted.status_code == 404
    page = client.get(running.get_absolute_url()).content.decode()
    assert "Clone this pilot" not in page
    assert Pilot.objects.count() == 1


def test_a_lead_cannot_clone_a_draft_they_cannot_see(client, lead):
    draft = _other_team_pilot("draft")
    client.force_login(lead)
    assert client.get(reverse("pilot_propose"), {"clone": draft.pk}).status_code == 404


def test_a_lead_clones_another_teams_concluded_pilot_into_their_own_team(client, lead, team):
    concluded = ConclusionFactory(
        stage_change__pilot=_other_team_pilot("stopped"),
    ).pilot
    stranger = MembershipFactory(team=concluded.team).user
    ParticipationFactory(pilot=concluded, user=stranger)
    client.force_login(lead)
    assert access.may_clone(lead, concluded)
    page = client.get(concluded.get_absolute_url()).content.decode()
    assert f'href="/pilots/propose/?clone={concluded.pk}"' in page
    data = form_data(client.get(reverse("pilot_propose"), {"clone": concluded.pk}).content.decode())
    # Another team's people are not the lead's to enrol; the team is the lead's own.
    assert data.get("participants") is None
    assert data["team"] == [str(team.pk)]
    data["action"] = ["save"]
    response = client.post(reverse("pilot_propose"), data)
    assert response.status_code == 302
    copy = Pilot.objects.exclude(pk=concluded.pk).get()
    assert (copy.team, copy.lead, copy.title) == (team, lead, "Copy of Sales summaries")
    assert not copy.participants.exists()


def test_a_member_who_leads_no_team_may_not_clone(participant, own):
    assert not access.may_clone(participant, own)


def test_a_clone_keeps_a_metric_target_as_it_was(client, lead, own):
    own.metrics.filter(name="Quality").update(baseline=Decimal("3"), target=Decimal("4.25"))
    client.force_login(lead)
    data = form_data(client.get(reverse("pilot_propose"), {"clone": own.pk}).content.decode())
    data["action"] = ["save"]
    client.post(reverse("pilot_propose"), data)
    copy = Pilot.objects.exclude(pk=own.pk).get()
    assert copy.metrics.get(name="Quality").target == Decimal("4.25")
