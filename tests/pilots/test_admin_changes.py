"""The pilot admin is one more adapter over the proposal writes: rules, records, drafts only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core import changelog
from core.models import ChangeRecord
from pilots.models import Pilot
from tests.factories import (
    MembershipFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.pilots.admin_support import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pulse():
    return pulse_questionnaire()


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def post(client, pilot, *, people=(), **changes):
    data = change_form_data(client, pilot)
    data.update({"participations-TOTAL_FORMS": len(people), "participations-INITIAL_FORMS": 0})
    for i, person in enumerate(people):
        data[f"participations-{i}-user"] = person.pk
    data.update(changes)
    return client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data)


def test_an_admin_edit_of_a_draft_writes_a_change_record_as_an_ops_correction(ops_client, ops):
    pilot = PilotFactory(title="Before")
    member = MembershipFactory(team=pilot.team).user

    response = post(ops_client, pilot, people=[member], title="After")

    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.title == "After"
    assert list(pilot.participants.all()) == [member]
    [record] = changelog.history(pilot)
    assert (record.action, record.actor) == ("pilot.corrected", ops)
    assert record.changes["title"] == ["Before", "After"]
    assert record.changes["participants"] == [[], [member.pk]]


def test_the_admin_refuses_a_participant_from_outside_the_team_as_the_proposal_does(ops_client):
    pilot = PilotFactory(title="Before")
    stranger = UserFactory(first_name="Sam", last_name="Stranger")

    response = post(ops_client, pilot, people=[stranger], title="After")

    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Sam Stranger" in message
    pilot.refresh_from_db()
    assert (pilot.title, pilot.participations.count()) == ("Before", 0)
    assert not ChangeRecord.objects.exists()


def test_an_admin_edit_outside_draft_is_refused_and_changes_nothing(ops_client):
    pilot = PilotFactory(stage="pilot", title="Before")
    metric = SuccessMetricFactory(pilot=pilot, question_key="trust")
    ParticipationFactory(pilot=pilot)
    member = MembershipFactory(team=pilot.team).user

    response = post(
        ops_client,
        pilot,
        people=[member],
        title="After",
        **{"metrics-TOTAL_FORMS": 1, "metrics-0-id": metric.pk, "metrics-0-target": "99"},
    )

    assert response.status_code == 403
    pilot.refresh_from_db()
    metric.refresh_from_db()
    assert (pilot.title, metric.target, pilot.participations.count()) == (
        "Before",
        Decimal("3.5"),
        1,
    )
    assert not ChangeRecord.objects.exists()


def test_outside_draft_the_pilot_form_and_its_participants_are_read_only(ops_client):
    pilot = PilotFactory(stage="sandbox")
    ParticipationFactory(pilot=pilot)
    page = ops_client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    assert 'name="title"' not in page
    assert 'name="participations-0-user"' not in page


def test_staff_outside_ops_cannot_edit_a_draft_in_the_admin(client):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_pilot", "change_pilot"])
    )
    client.force_login(staff)
    pilot = PilotFactory(title="Before")
    data = change_form_data(client, pilot)
    data["title"] = "After"
    assert (
        client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data).status_code == 403
    )
    pilot.refresh_from_db()
    assert pilot.title == "Before"


def test_a_pilot_added_in_the_admin_is_a_draft_written_by_the_proposal_rules(ops_client, ops):
    template = PilotFactory(title="Template")
    lead = MembershipFactory(team=template.team, role="lead").user
    data = change_form_data(ops_client, template)
    data.update({"title": "Added by Ops", "lead": lead.pk})
    response = ops_client.post(reverse("admin:pilots_pilot_add"), data)

    assert response.status_code == 302
    pilot = Pilot.objects.get(title="Added by Ops")
    assert (pilot.stage, pilot.lead, pilot.team) == ("draft", lead, template.team)
    [record] = changelog.history(pilot)
    assert (record.action, record.actor) == ("pilot.created", ops)
    assert record.changes["title"] == [None, "Added by Ops"]
