"""The budget guardrail that pauses: a pilot set to "pause" whose projected cost goes above its
cap is paused by the same lifecycle move Ops use (audit, change record, people told)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError
from django.urls import reverse
from rest_framework.test import APIClient

from core import followups, outbox
from core.exceptions import PermissionRefused
from core.models import ChangeRecord, Delivery, FollowUp
from notifications import notify
from pilots import budget, lifecycle, proposals, tasks, tools
from pilots.models import Pilot, StageChange
from tests.factories import (
    AIToolFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    UserFactory,
)
from tests.web.conftest import proposal_post

pytestmark = pytest.mark.django_db


def running(*, seats: int = 3, action: str = "pause", cap: str = "100", **kwargs) -> Pilot:
    """A running pilot on a per-seat tool at 25 a month: 75 a month for three seats."""
    tool = kwargs.pop("tool", None) or AIToolFactory(
        cost_model="per_seat", cost_amount=Decimal("25")
    )
    pilot = PilotFactory(
        stage="pilot", tool=tool, budget_cap=Decimal(cap), budget_action=action, **kwargs
    )
    for _ in range(seats):
        ParticipationFactory(pilot=pilot)
    return pilot


def raise_price(tool, amount: str, *, ops=None) -> None:
    tools.save_tool(tool.pk, actor=ops or OpsUserFactory(), fields={"cost_amount": Decimal(amount)})


def budget_pauses(pilot) -> list[StageChange]:
    return list(StageChange.objects.filter(pilot=pilot, evidence__has_key="budget"))


def test_a_tool_price_rise_pauses_a_pilot_set_to_pause_and_only_flags_one_set_to_flag(lead):
    pausing = running(lead=lead)
    flagging = running(action="flag", tool=pausing.tool)

    raise_price(pausing.tool, "40")  # 3 seats × 40 = 120 a month, above the cap of 100

    pausing.refresh_from_db()
    flagging.refresh_from_db()
    assert (pausing.stage, pausing.paused_from) == ("paused", "pilot")
    assert flagging.stage == "pilot"
    assert list(Pilot.objects.over_budget()) == [flagging]
    # The same audited move as an Ops pause: by the system, why, and the figures it saw.
    [change] = StageChange.objects.filter(pilot=pausing)
    assert (change.action, change.actor, change.to_stage) == ("pause", None, "paused")
    assert change.evidence["budget"] == {
        "monthly_cost": "120.00",
        "cap": "100.00",
        "currency": "EUR",
    }
    assert "Budget guardrail" in change.rationale and "120.00" in change.rationale
    assert ChangeRecord.objects.filter(action="stage.pause", actor=None).count() == 1


def test_the_lead_is_told_of_the_budget_pause_as_of_any_pause(lead, mailoutbox):
    pilot = running(lead=lead)
    raise_price(pilot.tool, "40")

    [cause] = FollowUp.objects.filter(kind=notify.ON_STAGE_CHANGE)
    followups.run(cause.pk)
    outbox.deliver(
        list(Delivery.objects.filter(kind=notify.NOTIFICATION).values_list("pk", flat=True))
    )

    [email] = [m for m in mailoutbox if m.to == [lead.email]]
    assert pilot.title in email.subject and "Paused" in email.subject


def test_pausing_twice_does_nothing_and_the_beat_task_is_idempotent():
    pilot = running()
    Pilot.objects.filter(pk=pilot.pk).update(budget_cap=Decimal("50"))  # over, not yet paused

    assert tasks.enforce_budgets() == {"paused": [pilot.pk]}
    assert tasks.enforce_budgets() == {"paused": []}
    assert budget.enforce(pilot.pk) is None
    assert len(budget_pauses(pilot)) == 1


def test_a_price_change_within_the_cap_or_of_another_field_pauses_nothing():
    pilot = running()
    raise_price(pilot.tool, "30")  # 90 a month: within 100
    tools.save_tool(pilot.tool.pk, actor=OpsUserFactory(), fields={"notes": "Renewed."})
    pilot.refresh_from_db()
    assert pilot.stage == "pilot" and budget_pauses(pilot) == []


def test_ops_resuming_after_a_budget_pause_is_respected_until_the_cost_rises_again(ops):
    pilot = running()
    raise_price(pilot.tool, "40")
    lifecycle.move(pilot.pk, "resume", actor=ops, expected_stage="paused")

    # Ops accepted 120 against 100: the beat leaves it running.
    assert tasks.enforce_budgets() == {"paused": []}
    pilot.refresh_from_db()
    assert pilot.stage == "pilot"

    raise_price(pilot.tool, "50")  # 150 a month: worse than what Ops accepted
    pilot.refresh_from_db()
    assert pilot.stage == "paused"
    assert len(budget_pauses(pilot)) == 2


def test_ops_switch_a_running_pilot_to_pause_in_the_admin_and_it_pauses_at_once(client, ops):
    pilot = running(action="flag", cap="50")
    client.force_login(ops)

    reply = client.post(
        reverse("admin:pilots_pilot_changelist"),
        {"action": "pause_over_budget", "_selected_action": [pilot.pk]},
    )

    assert reply.status_code == 302
    pilot.refresh_from_db()
    assert (pilot.budget_action, pilot.stage) == ("pause", "paused")
    record = ChangeRecord.objects.get(action="budget.action_changed")
    assert (record.actor, record.changes) == (ops, {"budget_action": ["flag", "pause"]})
    assert len(budget_pauses(pilot)) == 1
    messages = [m.message for m in get_messages(reply.wsgi_request)]
    assert messages == [f"{pilot.title}: over its cap, paused now."]


def test_switching_a_pilot_already_paused_by_ops_to_pause_does_not_say_it_paused_it(client, ops):
    pilot = running(action="flag", cap="50")
    Pilot.objects.filter(pk=pilot.pk).update(stage="paused", paused_from="pilot")  # by Ops
    client.force_login(ops)

    reply = client.post(
        reverse("admin:pilots_pilot_changelist"),
        {"action": "pause_over_budget", "_selected_action": [pilot.pk]},
    )

    messages = [m.message for m in get_messages(reply.wsgi_request)]
    assert messages == [f"{pilot.title}: budget guardrail set to “Pause the pilot”."]
    assert budget_pauses(pilot) == []


def test_only_ops_change_the_budget_guardrail_of_a_pilot(lead):
    pilot = running(action="flag", lead=lead)
    with pytest.raises(PermissionRefused):
        budget.set_action(pilot.pk, actor=lead, action="pause")
    pilot.refresh_from_db()
    assert pilot.budget_action == "flag"


def test_a_lead_chooses_the_budget_action_with_the_cap_on_the_form_and_by_the_api(
    client, lead, team, participant
):
    tool = AIToolFactory(cost_model="flat", cost_amount=Decimal("10"))
    client.force_login(lead)
    data = proposal_post(team=team, tool=tool, participants=[participant])
    data.update(budget_cap="500", budget_action="pause")
    page = client.get(reverse("pilot_propose")).content.decode()
    assert 'name="budget_action"' in page
    client.post(reverse("pilot_propose"), data)
    by_web = Pilot.objects.get()

    api = APIClient()
    api.force_authenticate(lead)
    body = {k: v for k, v in data.items() if k in proposals.PILOT_FIELDS and k != "participants"}
    body.update(team=team.pk, tool=tool.pk, anonymous_feedback=True, title="By the API")
    created = api.post("/api/v1/pilots/", body, format="json")
    assert created.status_code == 201, created.json()
    by_api = Pilot.objects.get(pk=created.json()["id"])

    for pilot in (by_web, by_api):
        assert (pilot.budget_cap, pilot.budget_action) == (Decimal("500"), "pause")
    assert created.json()["budget_action"] == "pause"
    # Left out, it only flags.
    del data["budget_action"]
    data["title"] = "Without a choice"
    client.post(reverse("pilot_propose"), data)
    assert Pilot.objects.get(title="Without a choice").budget_action == "flag"


def test_the_database_refuses_an_unknown_budget_action():
    with pytest.raises(IntegrityError):
        PilotFactory(budget_action="shout", lead=UserFactory())
