import re

import pytest
from django.urls import reverse

from pilots.models import Guardrail, Pilot, StageChange, SuccessMetric
from tests.factories import (
    GuardrailFactory,
    MembershipFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    UserFactory,
)
from tests.web.conftest import proposal_post

pytestmark = pytest.mark.django_db


def test_the_propose_page_has_every_section_and_one_empty_row_each(client, lead, tool):
    client.force_login(lead)
    response = client.get(reverse("pilot_propose"))
    assert response.status_code == 200
    html = response.content.decode()
    for section in (
        "Problem and hypothesis",
        "Tool and data",
        "Success metrics",
        "Guardrails",
        "Participants",
        "Dates and feedback cadence",
    ):
        assert section in html
    assert 'name="metrics-TOTAL_FORMS" value="1"' in html
    assert 'name="guardrails-TOTAL_FORMS" value="1"' in html
    # Every input has a label pointing at it.
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", html):
        input_id = re.search(r'\bid="([^"]+)"', tag)
        if 'type="hidden"' in tag:
            continue
        assert input_id, tag
        assert f'for="{input_id.group(1)}"' in html, tag


def test_a_lead_saves_a_draft_with_its_metrics_guardrails_and_participants(
    client, lead, team, participant, tool
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, participants=[participant])
    )
    pilot = Pilot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pilot_edit", args=[pilot.pk])
    assert (pilot.stage, pilot.lead, pilot.team) == ("draft", lead, team)
    assert list(pilot.metrics.values_list("name", "target")) == [("Reply quality", 3.5)]
    assert list(pilot.guardrails.values_list("kind", "question_key")) == [("metric", "trust")]
    assert list(pilot.participants.all()) == [participant]


def test_the_lead_comes_back_to_the_draft_and_finds_what_they_saved(client, lead, team, tool):
    pilot = PilotFactory(lead=lead, team=team, tool=tool, title="Summaries")
    SuccessMetricFactory(pilot=pilot, name="Time saved")
    GuardrailFactory(pilot=pilot, description="A human checks every summary")
    client.force_login(lead)
    html = client.get(reverse("pilot_edit", args=[pilot.pk])).content.decode()
    assert 'value="Summaries"' in html
    assert 'value="Time saved"' in html
    assert "A human checks every summary" in html
    assert 'name="metrics-TOTAL_FORMS" value="2"' in html


def test_a_target_below_its_baseline_is_shown_next_to_the_field_and_nothing_is_lost(
    client, lead, team, tool
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, **{"metrics-0-target": "2.5", "title": "Kept title"}),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert not Pilot.objects.exists()
    assert 'class="error-summary"' in html
    assert 'href="#id_metrics-0-target"' in html
    assert re.search(
        r'id="id_metrics-0-target"[^>]*aria-invalid="true"|'
        r'aria-invalid="true"[^>]*id="id_metrics-0-target"',
        html,
    )
    assert "the target must be above the baseline" in html
    assert 'value="Kept title"' in html
    assert 'value="Trust stays at 3 or above"' in html


def test_a_missing_required_field_is_listed_in_the_summary_with_a_link(client, lead, team, tool):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, problem="")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_problem"' in html
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*id="id_problem"', html)


def test_add_another_row_re_renders_with_one_more_row_and_keeps_what_was_typed(
    client, lead, team, tool
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(
            team=team,
            tool=tool,
            action="add_metric",
            problem="",
            **{"metrics-1-name": "Half typed"},
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not Pilot.objects.exists()
    assert 'name="metrics-TOTAL_FORMS" value="3"' in html
    assert 'value="Half typed"' in html
    assert 'value="Reply quality"' in html
    # Adding a row is not a save: no error is shown yet for the empty problem.
    assert "error-summary" not in html


@pytest.mark.parametrize(
    ("action", "first_field", "next_field"),
    [
        ("add_metric", "id_metrics-2-name", "id_metrics-3-name"),
        ("add_guardrail", "id_guardrails-2-kind", "id_guardrails-3-kind"),
    ],
)
def test_adding_a_row_opens_the_page_at_the_new_rows_first_field(
    client, lead, team, tool, action, first_field, next_field
):
    client.force_login(lead)
    page = client.get(reverse("pilot_propose")).content.decode()
    # Each add button posts to the page with the anchor of the row it adds; saving does not.
    assert 'value="add_metric" formaction="/pilots/propose/#id_metrics-1-name"' in page
    assert 'value="add_guardrail" formaction="/pilots/propose/#id_guardrails-1-kind"' in page
    assert '<form method="post" action="/pilots/propose/" novalidate class="proposal">' in page
    assert "autofocus" not in page

    # Posted with two rows of each: the third is added, and the next add would make a fourth.
    html = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, action=action)
    ).content.decode()
    assert f'id="{first_field}"' in html
    assert f'value="{action}" formaction="/pilots/propose/#{next_field}"' in html
    focused = re.findall(r"<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*>", html)
    assert len(focused) == 1 and f'id="{first_field}"' in focused[0]


def test_adding_a_row_to_a_draft_opens_its_edit_page_at_the_new_row(client, lead, team, tool):
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    SuccessMetricFactory(pilot=pilot)
    client.force_login(lead)
    edit_url = reverse("pilot_edit", args=[pilot.pk])
    # The saved metric and the empty row below it: adding makes the third row.
    assert f'formaction="{edit_url}#id_metrics-2-name"' in client.get(edit_url).content.decode()


def test_a_row_marked_for_removal_is_not_saved(client, lead, team, tool):
    client.force_login(lead)
    client.post(
        reverse("pilot_propose"),
        proposal_post(
            team=team,
            tool=tool,
            **{
                "metrics-1-name": "Dropped",
                "metrics-1-question_key": "x",
                "metrics-1-target": "4",
                "metrics-1-DELETE": "on",
            },
        ),
    )
    assert list(SuccessMetric.objects.values_list("name", flat=True)) == ["Reply quality"]


def test_a_policy_rule_with_a_threshold_is_refused_on_its_row(client, lead, team, tool):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, **{"guardrails-0-kind": "policy"}),
    )
    assert response.status_code == 400
    assert 'href="#id_guardrails-0-question_key"' in response.content.decode()
    assert not Guardrail.objects.exists()


def test_someone_outside_the_team_cannot_be_a_participant(client, lead, team, tool, outsider):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, participants=[outsider])
    )
    # The outsider is not even offered, so the form refuses the choice itself.
    assert response.status_code == 400
    assert 'href="#id_participants_0"' in response.content.decode()


def test_save_and_submit_sends_a_complete_proposal_for_review(
    client, lead, team, participant, tool
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, participants=[participant], action="submit"),
    )
    pilot = Pilot.objects.get()
    assert response.status_code == 302
    assert pilot.stage == "proposed"
    assert StageChange.objects.get(pilot=pilot).actor == lead


def test_an_incomplete_proposal_is_saved_but_not_submitted(client, lead, team, tool):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, action="submit"), follow=True
    )
    pilot = Pilot.objects.get()
    assert pilot.stage == "draft"
    assert "Choose at least one participant." in response.content.decode()


def test_the_submit_button_moves_a_ready_draft_from_the_stage_the_lead_saw(
    client, lead, team, participant
):
    pilot = PilotFactory(lead=lead, team=team)
    SuccessMetricFactory(pilot=pilot)
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    client.force_login(lead)
    response = client.post(reverse("pilot_submit", args=[pilot.pk]), {"expected_stage": "draft"})
    pilot.refresh_from_db()
    assert response.status_code == 302
    assert pilot.stage == "proposed"
    again = client.post(
        reverse("pilot_submit", args=[pilot.pk]), {"expected_stage": "draft"}, follow=True
    )
    assert "The stage changed meanwhile" in again.content.decode()


def test_a_pilot_under_review_cannot_be_edited(client, lead, team, tool):
    pilot = PilotFactory(lead=lead, team=team, tool=tool, stage="proposed")
    client.force_login(lead)
    response = client.get(reverse("pilot_edit", args=[pilot.pk]))
    assert response.status_code == 403
    assert "Only a draft can be edited" in response.content.decode()
    response = client.post(
        reverse("pilot_edit", args=[pilot.pk]), proposal_post(team=team, tool=tool, title="Changed")
    )
    assert response.status_code == 403
    pilot.refresh_from_db()
    assert pilot.title != "Changed"


def test_a_pilot_sent_back_to_draft_is_editable_again(client, lead, team, tool):
    pilot = PilotFactory(lead=lead, team=team, tool=tool)
    client.force_login(lead)
    response = client.post(
        reverse("pilot_edit", args=[pilot.pk]),
        proposal_post(team=team, tool=tool, title="Rewritten"),
    )
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.title == "Rewritten"


def test_a_member_who_leads_no_team_cannot_propose(client, participant):
    client.force_login(participant)
    assert client.get(reverse("pilot_propose")).status_code == 403


def test_the_team_lead_may_edit_a_draft_another_member_leads(client, lead, team, tool):
    member = UserFactory(username="member-lead-of-pilot")
    MembershipFactory(team=team, user=member)
    pilot = PilotFactory(lead=member, team=team, tool=tool)
    client.force_login(lead)
    assert client.get(reverse("pilot_edit", args=[pilot.pk])).status_code == 200


@pytest.mark.parametrize("days", ["0", "15"])
def test_a_response_window_outside_one_to_fourteen_days_is_refused_on_its_field(
    client, lead, team, tool, days
):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"), proposal_post(team=team, tool=tool, response_window_days=days)
    )
    assert response.status_code == 400
    assert 'href="#id_response_window_days"' in response.content.decode()
    assert not Pilot.objects.exists()
