"""Every entry point applies the same rules: one invalid input, the same refusal everywhere.

For each operation the domain function is asked first (in a savepoint rolled back), to learn
the refusal a person should get: its code and its message. Then each adapter — web page,
admin, API, management command — is driven with the same invalid input, and must answer with
that same code (the API) or that same message (pages, admin, commands), and change nothing.
A second way in that skipped a rule (the API used to turn an empty draft into a proposal)
fails here.
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.exceptions import DomainError
from decisions import guardrails
from feedback import absences, scheduling
from feedback.models import Absence, FeedbackRound
from pilots import lifecycle, proposals
from pilots.models import GuardrailBreach, Pilot, StageChange
from tests.factories import (
    FeedbackRoundFactory,
    MetricGuardrailFactory,
    PilotFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def refusal(call) -> DomainError:
    """The domain's refusal of `call`, with anything it wrote rolled back."""
    try:
        with transaction.atomic():
            call()
            raise _Rollback
    except DomainError as e:
        return e
    except _Rollback:
        pytest.fail("the domain accepted the invalid input")


def shown(response) -> str:
    """Everything a person reads after a request: the page and its flash messages."""
    page = response.content.decode() if hasattr(response, "content") else ""
    notes = " ".join(str(m) for m in get_messages(response.wsgi_request))
    return f"{page} {notes}"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as e:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    return str(e.value)


# --- Submitting a draft that lacks metrics, guardrails and participants ---------------------


def test_an_incomplete_draft_is_refused_alike_by_the_page_the_button_and_the_api(
    client, lead, team
):
    pilot = PilotFactory(team=team, lead=lead, title="Empty draft")
    expected = refusal(lambda: proposals.submit(pilot.pk, actor=lead, expected_stage=pilot.stage))
    assert expected.code == "incomplete_proposal"

    client.force_login(lead)
    button = client.post(
        reverse("pilot_submit", args=[pilot.pk]), {"expected_stage": "draft"}, follow=True
    )
    assert expected.message in shown(button)

    by_api = api(lead).post(
        f"/api/pilots/{pilot.pk}/move/", {"action": "submit", "expected_stage": "draft"}
    )
    assert (by_api.status_code, by_api.json()["code"]) == (400, expected.code)
    assert by_api.json()["detail"] == expected.message

    assert Pilot.objects.get(pk=pilot.pk).stage == "draft"
    assert not StageChange.objects.exists()


# --- Moves: a rationale is required; four eyes ---------------------------------------------


def _proposed(lead, team) -> Pilot:
    pilot = PilotFactory(team=team, lead=lead, complete=True)
    lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    return Pilot.objects.get(pk=pilot.pk)


def _admin_move(client, pilot: Pilot, action: str, **extra) -> str:
    response = client.post(
        reverse("admin:pilots_pilot_changelist"),
        {
            "action": action,
            "_selected_action": [pilot.pk],
            "confirm": "yes",
            f"expected_stage_{pilot.pk}": pilot.stage,
            **extra,
        },
        follow=True,
    )
    return shown(response)


def test_rejecting_without_a_rationale_is_refused_alike_by_the_admin_and_the_api(
    client, ops, lead, team
):
    pilot = _proposed(lead, team)
    expected = refusal(
        lambda: lifecycle.move(pilot.pk, "reject", actor=ops, expected_stage="proposed")
    )
    assert expected.code == "rationale_required"

    client.force_login(ops)
    assert expected.message in _admin_move(client, pilot, "reject", rationale="")
    by_api = api(ops).post(
        f"/api/pilots/{pilot.pk}/move/", {"action": "reject", "expected_stage": "proposed"}
    )
    assert (by_api.status_code, by_api.json()["code"]) == (400, expected.code)
    assert by_api.json()["detail"] == expected.message
    assert Pilot.objects.get(pk=pilot.pk).stage == "proposed"


def test_four_eyes_refuses_the_proposer_alike_in_the_admin_and_the_api(client, team):
    from tests.factories import MembershipFactory, OpsUserFactory

    ops_lead = OpsUserFactory(username="opslead")
    MembershipFactory(team=team, user=ops_lead, role="lead")
    pilot = _proposed(ops_lead, team)
    expected = refusal(
        lambda: lifecycle.move(pilot.pk, "approve", actor=ops_lead, expected_stage="proposed")
    )
    assert expected.code == "permission_denied"

    client.force_login(ops_lead)
    assert expected.message in _admin_move(client, pilot, "approve", rationale="Fine by me.")
    by_api = api(ops_lead).post(
        f"/api/pilots/{pilot.pk}/move/", {"action": "approve", "expected_stage": "proposed"}
    )
    assert (by_api.status_code, by_api.json()["code"]) == (403, expected.code)
    assert by_api.json()["detail"] == expected.message
    assert Pilot.objects.get(pk=pilot.pk).stage == "proposed"


# --- Resolving a breach without a note -----------------------------------------------------


def test_resolving_a_breach_without_a_note_is_refused_alike_on_both_admin_pages(client, ops):
    pilot = PilotFactory(stage="pilot")
    breach = GuardrailBreach.objects.create(
        guardrail=MetricGuardrailFactory(pilot=pilot), pilot=pilot, detail="Trust fell."
    )
    expected = refusal(lambda: guardrails.resolve_breach(breach.pk, actor=ops, note="  "))
    assert expected.code == "note_required"

    client.force_login(ops)
    listed = client.post(
        reverse("admin:pilots_guardrailbreach_changelist"),
        {"action": "resolve", "_selected_action": [breach.pk], "confirm": "yes", "note": " "},
    )
    assert expected.message in shown(listed)
    one = client.post(
        reverse("admin:pilots_guardrailbreach_resolve", args=[breach.pk]), {"note": ""}
    )
    assert expected.message in shown(one)
    assert GuardrailBreach.objects.get(pk=breach.pk).resolved_at is None


# --- Rounds: opening for a pilot that is not running; closing a closed round -----------------


def test_opening_a_round_of_a_pilot_not_running_is_refused_alike_by_the_admin_and_the_command(
    client, ops
):
    pulse_questionnaire()
    pilot = PilotFactory(stage="proposed")
    opened = scheduling.open_rounds_now([pilot.pk], actor=ops)
    expected = opened.refused[pilot.pk]
    assert expected.code == "pilot_not_running"

    client.force_login(ops)
    by_admin = client.post(
        reverse("admin:pilots_pilot_changelist"),
        {"action": "open_round_now", "_selected_action": [pilot.pk]},
        follow=True,
    )
    assert expected.message in shown(by_admin)
    by_command = command_error("rounds", "open", "--pilot", str(pilot.pk), "--as", "ops")
    assert expected.message in by_command
    assert not FeedbackRound.objects.exists()


def test_closing_a_closed_round_is_refused_alike_by_the_admin_and_the_command(client, ops):
    now = timezone.now()
    closed = FeedbackRoundFactory(
        pilot=PilotFactory(stage="pilot"),
        status="closed",
        closed_at=now,
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now,
    )
    expected = refusal(lambda: scheduling.close_round_now(closed.pk, actor=ops))
    assert expected.code == "round_closed"

    client.force_login(ops)
    by_admin = client.post(
        reverse("admin:feedback_feedbackround_changelist"),
        {"action": "close_now", "_selected_action": [closed.pk], "confirm": "yes"},
        follow=True,
    )
    assert expected.message in shown(by_admin)
    assert expected.message in command_error(
        "rounds", "close", "--round", str(closed.pk), "--as", "ops"
    )


# --- Absences: a period already over ---------------------------------------------------------


def test_an_absence_already_over_is_refused_alike_on_the_away_page_and_in_the_admin(
    client, ops, participant
):
    today = timezone.localdate()
    last_week = {
        "starts_on": today - datetime.timedelta(days=9),
        "ends_on": today - datetime.timedelta(days=2),
    }
    expected = refusal(lambda: absences.mark_away(participant, **last_week))
    assert expected.code == "in_the_past"
    as_form = {k: v.isoformat() for k, v in last_week.items()}

    client.force_login(participant)
    assert expected.message in shown(client.post(reverse("feedback_away"), as_form))
    client.force_login(ops)
    by_admin = client.post(
        reverse("admin:feedback_absence_add"), {"user": participant.pk, **as_form}
    )
    assert expected.message in shown(by_admin)
    assert not Absence.objects.exists()


def test_ops_record_an_absence_in_the_admin_through_the_participants_own_rules(
    client, ops, participant
):
    """Touching absences merge, whoever records them: the admin no longer writes rows itself."""
    today = timezone.localdate()
    absences.mark_away(participant, starts_on=today, ends_on=today + datetime.timedelta(days=3))
    client.force_login(ops)
    client.post(
        reverse("admin:feedback_absence_add"),
        {
            "user": participant.pk,
            "starts_on": (today + datetime.timedelta(days=4)).isoformat(),
            "ends_on": (today + datetime.timedelta(days=6)).isoformat(),
        },
    )
    [merged] = Absence.objects.all()
    assert (merged.starts_on, merged.ends_on) == (today, today + datetime.timedelta(days=6))
