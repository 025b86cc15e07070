"""Anyone reports an incident about a pilot or a tool; Ops triage it, link it, export it."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError
from django.urls import reverse

from core import followups
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord, FollowUp
from feedback.anonymity import EXPOSURE_VALUE
from incidents import reporting
from incidents.models import EXPOSURE_KIND, Incident, Triage
from pilots.models import GuardrailBreach, Stage
from tests.factories import AIToolFactory, GuardrailFactory, ParticipationFactory, PilotFactory

pytestmark = pytest.mark.django_db


def run_followups() -> None:
    for followup in FollowUp.objects.filter(status="pending"):
        followups.run(followup.pk)


@pytest.fixture
def running(team, lead, participant):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PILOT)
    ParticipationFactory(pilot=pilot, user=participant)
    return pilot


def test_the_exposure_kind_is_the_feedback_incident_questions():
    assert EXPOSURE_KIND == EXPOSURE_VALUE


def test_a_participant_reports_an_incident_by_name_with_a_change_record(
    client, participant, running
):
    client.force_login(participant)
    page = client.post(
        reverse("incident_report"),
        {"pilot": running.pk, "kind": "wrong_output", "severity": "medium", "description": "Bad"},
    )

    assert page.status_code == 302
    incident = Incident.objects.get()
    assert (incident.reporter, incident.pilot, incident.tool) == (
        participant,
        running,
        running.tool,
    )
    assert incident.status == Incident.Status.NEW
    record = ChangeRecord.objects.get(action="incident.reported")
    assert record.actor == participant


def test_an_incident_about_a_tool_alone_is_accepted_and_one_about_nothing_refused(participant):
    tool = AIToolFactory()
    assert (
        reporting.report(
            actor=participant, tool=tool, kind="outage", severity="low", description="Down"
        ).tool
        == tool
    )
    with pytest.raises(ValidationFailed) as refused:
        reporting.report(actor=participant, kind="outage", severity="low", description="Down")
    assert (refused.value.code, refused.value.field) == ("incident_without_subject", "pilot")


def test_nobody_reports_about_a_pilot_they_cannot_see(outsider, team):
    # Another team's draft is hidden from an outsider (running pilots are visible to all).
    draft = PilotFactory(team=team, stage=Stage.DRAFT)
    with pytest.raises(ValidationFailed) as refused:
        reporting.report(actor=outsider, pilot=draft, kind="other", severity="low", description="?")
    assert refused.value.field == "pilot"
    assert not Incident.objects.exists()


def test_the_database_refuses_an_incident_about_nothing():
    with pytest.raises(IntegrityError):
        Incident.objects.create(kind="other", severity="low", description="x")


def test_an_exposure_breaches_the_pilots_exposure_guardrails_at_once(participant, running):
    exposure = GuardrailFactory(pilot=running, forbids_data_exposure=True, action="pause")
    GuardrailFactory(pilot=running, description="Humans review")  # not about exposure

    incident = reporting.report(
        actor=participant,
        pilot=running,
        kind=EXPOSURE_KIND,
        severity="high",
        description="A customer file went into the prompt.",
        anonymous=True,
    )
    run_followups()
    run_followups()  # a repeat adds nothing

    breach = GuardrailBreach.objects.get()
    assert breach.guardrail == exposure
    assert breach.trigger == GuardrailBreach.Trigger.EXPOSURE
    assert list(incident.breaches.all()) == [breach]
    assert "reported on" in breach.detail
    running.refresh_from_db()
    assert running.stage == Stage.PAUSED


def test_ops_triage_forward_only_with_a_note_and_each_step_is_recorded(ops, participant, running):
    incident = reporting.report(
        actor=participant, pilot=running, kind="other", severity="low", description="x"
    )
    with pytest.raises(ValidationFailed) as refused:
        reporting.triage(incident.pk, actor=ops, status="investigating", note=" ")
    assert refused.value.field == "note"
    with pytest.raises(PermissionRefused):
        reporting.triage(incident.pk, actor=participant, status="investigating", note="Mine")

    reporting.triage(incident.pk, actor=ops, status="investigating", note="Looking")
    reporting.triage(incident.pk, actor=ops, status="closed", note="Fixed the prompt")
    with pytest.raises(ValidationFailed) as backwards:
        reporting.triage(incident.pk, actor=ops, status="contained", note="Oops")
    assert backwards.value.code == "triage_backwards"

    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED
    assert [(t.from_status, t.to_status) for t in Triage.objects.all()] == [
        ("new", "investigating"),
        ("investigating", "closed"),
    ]
    assert ChangeRecord.objects.filter(action="incident.triaged", actor=ops).count() == 2


def test_ops_link_an_incident_to_a_breach_of_its_pilot_only(ops, participant, running):
    incident = reporting.report(
        actor=participant, pilot=running, kind="other", severity="low", description="x"
    )
    own = GuardrailBreach.objects.create(
        pilot=running, guardrail=GuardrailFactory(pilot=running), rule={}
    )
    other_pilot = PilotFactory()
    other = GuardrailBreach.objects.create(
        pilot=other_pilot, guardrail=GuardrailFactory(pilot=other_pilot), rule={}
    )
    reporting.link_breach(incident.pk, actor=ops, breach=own)
    with pytest.raises(ValidationFailed):
        reporting.link_breach(incident.pk, actor=ops, breach=other)
    assert list(incident.breaches.all()) == [own]


def test_the_register_and_its_export_are_for_ops_only(client, ops, participant, running):
    reporting.report(
        actor=participant,
        pilot=running,
        kind="other",
        severity="low",
        description="=HYPERLINK(1)",
    )
    client.force_login(participant)
    assert client.get(reverse("incident_register")).status_code == 403
    assert client.get(reverse("incident_export")).status_code == 403

    client.force_login(ops)
    assert client.get(reverse("incident_register")).status_code == 200
    export = client.get(reverse("incident_export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == list(reporting.EXPORT_COLUMNS)
    assert rows[1][1:8] == [
        rows[1][1],
        running.title,
        running.tool.name,
        "other",
        "low",
        "new",
        "yes",
    ]
    assert rows[1][8] == "'=HYPERLINK(1)"


def test_ops_triage_on_the_incident_page(client, ops, participant, running):
    incident = reporting.report(
        actor=participant, pilot=running, kind="other", severity="low", description="x"
    )
    client.force_login(ops)
    url = reverse("incident_detail", args=[incident.pk])
    refused = client.post(url, {"triage": "1", "status": "investigating", "note": ""})
    assert refused.status_code == 400
    done = client.post(url, {"triage": "1", "status": "investigating", "note": "On it"})
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "investigating"


@pytest.mark.parametrize("size", [3, 60])
def test_the_register_costs_the_same_queries_at_every_size(
    client, ops, participant, running, size, django_assert_max_num_queries
):
    tool = AIToolFactory()
    for i in range(size):
        reporting.report(
            actor=participant,
            pilot=running if i % 2 else None,
            tool=tool,
            kind="other",
            severity="low",
            description=f"Incident {i}",
        )
    client.force_login(ops)
    # Session and user, Ops check, the navigation's "leads a team", the incidents with pilot
    # and tool, their count.
    with django_assert_max_num_queries(6):
        page = client.get(reverse("incident_register"))
    assert page.status_code == 200
    assert len(page.context["incidents"]) == size
