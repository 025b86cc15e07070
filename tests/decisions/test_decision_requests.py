"""A lead asks Ops for a decision (promote or stop) from the pilot page; Ops see it on their
home; the move that follows answers it; all of it is in the pilot's history."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from core.exceptions import IllegalTransition, PermissionRefused, ValidationFailed
from core.models import ChangeRecord
from pilots import decision_requests, lifecycle
from pilots.lifecycle import Action
from pilots.models import DecisionRequest, Stage
from tests.factories import PilotFactory, findings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pilot(lead, team):
    return PilotFactory(stage=Stage.PILOT, lead=lead, team=team, title="Ticket drafts")


def ask(pilot, lead, action="promote", message="Quality is met three rounds running."):
    return decision_requests.request(pilot.pk, actor=lead, action=action, message=message)


def test_a_lead_asks_for_a_promotion_and_it_is_in_the_history(pilot, lead):
    made = ask(pilot, lead)
    assert (made.status, made.action, made.requested_by) == ("open", "promote", lead)
    record = ChangeRecord.objects.get(action="decision.requested")
    assert (record.actor, record.scope_id, record.reason) == (
        lead,
        pilot.pk,
        "Quality is met three rounds running.",
    )


def test_only_the_pilot_s_lead_may_ask(pilot, outsider):
    with pytest.raises(PermissionRefused):
        ask(pilot, outsider)
    assert not DecisionRequest.objects.exists()


@pytest.mark.parametrize(
    ("action", "message", "code", "field"),
    [
        ("promote", "  ", "message_required", "message"),
        ("approve", "Please.", "unknown_action", "action"),
    ],
)
def test_a_request_that_breaks_a_rule_is_refused_with_its_field(
    pilot, lead, action, message, code, field
):
    with pytest.raises(ValidationFailed) as refused:
        ask(pilot, lead, action=action, message=message)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_move_the_stage_does_not_allow_cannot_be_asked_for(lead, team):
    approved = PilotFactory(stage=Stage.APPROVED, lead=lead, team=team)
    with pytest.raises(IllegalTransition):
        ask(approved, lead, action="promote")


def test_a_second_open_request_is_refused(pilot, lead):
    ask(pilot, lead)
    with pytest.raises(ValidationFailed) as refused:
        ask(pilot, lead, action="stop", message="Changed my mind.")
    assert (refused.value.code, refused.value.field) == ("request_open", "action")
    assert DecisionRequest.objects.count() == 1


def test_the_database_refuses_two_open_requests_for_a_pilot(pilot, lead):
    ask(pilot, lead)
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionRequest.objects.create(
            pilot=pilot, action="stop", message="Again.", requested_by=lead
        )


def test_the_database_refuses_a_request_without_a_message(pilot, lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionRequest.objects.create(pilot=pilot, action="stop", message="", requested_by=lead)


def test_the_move_that_follows_answers_the_request_and_the_history_says_so(pilot, lead, ops):
    made = ask(pilot, lead, action="stop", message="Nobody uses it.")
    change = lifecycle.move(
        pilot.pk,
        Action.STOP,
        actor=ops,
        expected_stage=Stage.PILOT,
        rationale="As the lead asked.",
        conclusion=findings_for(Stage.PILOT, Action.STOP),
    )
    made.refresh_from_db()
    assert (made.status, made.stage_change) == ("closed", change)
    record = ChangeRecord.objects.get(action="decision.answered")
    assert (record.actor, record.reason) == (ops, "As the lead asked.")
    assert record.changes["stage"] == ["pilot", "stopped"]
    # Answered: the lead may ask again later.
    assert not DecisionRequest.objects.filter(status="open").exists()


# --- Pages -------------------------------------------------------------------------------------


def test_the_lead_asks_from_the_pilot_page_without_javascript(client, pilot, lead):
    client.force_login(lead)
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Ask Ops for a decision" in page
    assert 'name="action" value="promote"' in page and 'name="action" value="stop"' in page
    response = client.post(
        reverse("pilot_request_decision", args=[pilot.pk]),
        {"action": "promote", "message": "All metrics met."},
        follow=True,
    )
    html = response.content.decode()
    assert "Your request was sent to Ops." in html
    assert "asked Ops to decide: Promote" in html
    assert "Ask Ops for a decision" not in html


def test_an_empty_message_is_refused_on_the_page(client, pilot, lead):
    client.force_login(lead)
    response = client.post(
        reverse("pilot_request_decision", args=[pilot.pk]),
        {"action": "promote", "message": ""},
        follow=True,
    )
    assert "Tell Ops why, in a few words." in response.content.decode()
    assert not DecisionRequest.objects.exists()


def test_someone_who_does_not_lead_the_pilot_gets_no_form_and_is_refused(client, pilot, outsider):
    client.force_login(outsider)
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Ask Ops for a decision" not in page
    response = client.post(
        reverse("pilot_request_decision", args=[pilot.pk]),
        {"action": "promote", "message": "Let me."},
    )
    assert response.status_code == 403
    assert not DecisionRequest.objects.exists()


def test_ops_see_open_requests_on_their_home(client, pilot, lead, ops):
    ask(pilot, lead, message="All metrics met.")
    client.force_login(ops)
    html = client.get(reverse("home")).content.decode()
    assert "1 lead asks for a decision" in html
    assert "Ticket drafts" in html and "All metrics met." in html


def test_ops_read_requests_in_the_admin_but_cannot_edit_them(client, pilot, lead, ops):
    made = ask(pilot, lead)
    client.force_login(ops)
    listing = client.get(reverse("admin:pilots_decisionrequest_changelist"))
    assert listing.status_code == 200
    assert "Ticket drafts" in listing.content.decode()
    response = client.post(
        reverse("admin:pilots_decisionrequest_change", args=[made.pk]), {"message": "Edited"}
    )
    assert response.status_code == 403
