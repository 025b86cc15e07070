"""The usage charter: nobody is invited to a pilot before acknowledging it and its rules."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from core import outbox
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord, Delivery
from feedback import invitations, scheduling
from feedback.models import FeedbackRound, Prompt, Response
from governance import charter
from governance.models import Acknowledgement, CharterVersion
from tests.factories import (
    CharterVersionFactory,
    GuardrailFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"/feedback/answer/([A-Za-z0-9_\-]+)/")
CHARTER_LINK_RE = re.compile(r"/charter/(\d+)/")


@pytest.fixture(autouse=True)
def wednesday():
    pulse_questionnaire()
    with time_machine.travel(WEDNESDAY, tick=False) as traveller:
        yield traveller


def running_pilot(**kwargs):
    kwargs = {"cadence": "weekly", "cadence_weekday": 0, "stage": "pilot", **kwargs}
    return PilotFactory(team=TeamFactory(timezone="Europe/Paris"), **kwargs)


def open_round(pilot) -> FeedbackRound:
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY, pilot_ids=[pilot.pk])
    return FeedbackRound.objects.get(pk=round_id)


def send_all() -> None:
    """What the workers do after commit: every due delivery of every kind."""
    for kind in (invitations.INVITATION, invitations.REMINDER, charter.CHARTER_REQUEST):
        for batch in set(
            Delivery.objects.filter(kind=kind, status="queued").values_list("batch", flat=True)
        ):
            ids = None
            if not batch:
                ids = list(
                    Delivery.objects.filter(kind=kind, batch="").values_list("pk", flat=True)
                )
            outbox.deliver_batch(kind, batch, ids)


def invitations_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email] and TOKEN_RE.search(m.body)]


def charter_requests_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email] and CHARTER_LINK_RE.search(m.body)]


# --- The gate ---------------------------------------------------------------------------------


def test_no_invitation_goes_out_before_acknowledgement_and_the_person_is_told_why(client):
    version = CharterVersionFactory()
    pilot = running_pilot()
    GuardrailFactory(pilot=pilot, description="Never paste customer names")
    waiting = ParticipationFactory(pilot=pilot, acknowledged=False).user
    ready = ParticipationFactory(pilot=pilot).user  # acknowledged, like the demo's people
    round_ = open_round(pilot)
    prompt = Prompt.objects.get(round=round_, participant=waiting)

    send_all()
    send_all()  # a repeat (the sweep, a second worker) tells them once

    assert len(invitations_to(ready)) == 1
    assert invitations_to(waiting) == []
    [request] = charter_requests_to(waiting)
    assert CHARTER_LINK_RE.search(request.body).group(1) == str(pilot.pk)
    assert "Never paste customer names" in request.body
    assert f"version {version.number}" in request.body
    # The prompt exists like everyone's; only its email waits (queued, not failed or sent),
    # and no link was minted for it.
    assert Delivery.objects.get(kind="invitation", subject_id=str(prompt.pk)).status == "queued"
    assert Prompt.objects.get(pk=prompt.pk).token_hash == prompt.token_hash


def test_after_acknowledging_the_invitation_goes_out_while_the_round_is_open(client):
    version = CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    round_ = open_round(pilot)
    unsent_hash = Prompt.objects.get(round=round_, participant=person).token_hash
    send_all()
    assert invitations_to(person) == []

    client.force_login(person)
    response = client.post(
        reverse("charter_acknowledge", args=[pilot.pk]), {"agree": "yes", "version": version.pk}
    )
    assert response.status_code == 302
    send_all()

    [invitation] = invitations_to(person)
    token = TOKEN_RE.search(invitation.body).group(1)
    client.logout()
    page = client.get(reverse("feedback_answer", args=[token]))
    assert page.status_code == 200 and pilot.title in page.content.decode()
    assert Acknowledgement.objects.filter(user=person, pilot=pilot, version=version).exists()
    assert Prompt.objects.get(round=round_, participant=person).token_hash != unsent_hash
    # Acknowledging again changes nothing and sends nothing more.
    charter.acknowledge(pilot, user=person, version_id=version.pk)
    send_all()
    assert len(invitations_to(person)) == 1 and len(charter_requests_to(person)) == 1


def test_an_invitation_still_waiting_when_the_round_closes_is_cancelled(client):
    version = CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    round_ = open_round(pilot)
    send_all()
    scheduling.close_round(round_.pk, now=round_.closes_at)
    charter.acknowledge(pilot, user=person, version_id=version.pk)
    send_all()
    assert invitations_to(person) == []
    assert set(Delivery.objects.filter(kind="invitation").values_list("status", flat=True)) == {
        "cancelled"
    }


def test_nothing_is_asked_while_no_charter_is_published():
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    open_round(pilot)
    send_all()
    assert len(invitations_to(person)) == 1
    assert charter_requests_to(person) == []


def test_a_new_charter_version_asks_again_before_the_next_invitation(wednesday):
    CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot).user
    open_round(pilot)
    send_all()
    assert len(invitations_to(person)) == 1

    newer = charter.publish(actor=OpsUserFactory(), body_en="# Charter v2\n\nNew rules.")
    wednesday.move_to(WEDNESDAY + datetime.timedelta(days=7))
    scheduling.open_due_rounds(now=WEDNESDAY + datetime.timedelta(days=7))
    send_all()
    assert len(invitations_to(person)) == 1
    [request] = charter_requests_to(person)
    assert f"version {newer.number}" in request.body


def test_an_acknowledgement_for_one_pilot_does_not_cover_another():
    version = CharterVersionFactory()
    first, second = running_pilot(), running_pilot()
    person = UserFactory()
    ParticipationFactory(pilot=first, user=person, acknowledged=False)
    ParticipationFactory(pilot=second, user=person, acknowledged=False)
    charter.acknowledge(first, user=person, version_id=version.pk)
    open_round(first)
    open_round(second)
    send_all()
    [invitation] = invitations_to(person)
    assert first.title in invitation.subject
    [request] = charter_requests_to(person)
    assert CHARTER_LINK_RE.search(request.body).group(1) == str(second.pk)


def test_the_acknowledgement_is_not_linked_to_feedback():
    """No foreign key from an acknowledgement to a prompt, round, response or answer."""
    related = {f.related_model for f in Acknowledgement._meta.get_fields() if f.is_relation} - {
        None
    }
    assert not related & {Prompt, FeedbackRound, Response}
    names = {f.name for f in Acknowledgement._meta.get_fields()}
    assert names == {"id", "user", "version", "pilot", "acknowledged_at", "guardrails"}


# --- Domain rules -----------------------------------------------------------------------------


def test_only_participants_acknowledge_and_only_the_current_version():
    old = CharterVersionFactory()
    current = CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot, acknowledged=False).user
    with pytest.raises(PermissionRefused):
        charter.acknowledge(pilot, user=UserFactory(), version_id=current.pk)
    with pytest.raises(ValidationFailed) as refused:
        charter.acknowledge(pilot, user=person, version_id=old.pk)
    assert (refused.value.code, refused.value.field) == ("charter_changed", "version")
    assert not Acknowledgement.objects.exists()


def test_publishing_numbers_versions_and_records_the_change():
    ops = OpsUserFactory()
    first = charter.publish(actor=ops, body_en="One", body_fr="Un")
    second = charter.publish(actor=ops, body_en="Two")
    assert (first.number, second.number) == (1, 2)
    assert CharterVersion.objects.current() == second
    records = ChangeRecord.objects.filter(action="charter.published")
    assert [r.changes["number"][1] for r in records] == [1, 2]
    assert {r.actor_id for r in records} == {ops.pk}


def test_publishing_is_refused_to_non_ops_and_without_english_text():
    with pytest.raises(PermissionRefused):
        charter.publish(actor=UserFactory(), body_en="Rules")
    with pytest.raises(ValidationFailed) as refused:
        charter.publish(actor=OpsUserFactory(), body_en="   ", body_fr="Règles")
    assert (refused.value.code, refused.value.field) == ("charter_required", "body_en")
    assert not CharterVersion.objects.exists()


def test_the_database_refuses_a_second_acknowledgement_of_the_same_version_and_pilot():
    version = CharterVersionFactory()
    participation = ParticipationFactory(acknowledged=False)
    Acknowledgement.objects.create(
        user=participation.user, version=version, pilot=participation.pilot
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Acknowledgement.objects.create(
            user=participation.user, version=version, pilot=participation.pilot
        )


def test_the_database_refuses_a_version_without_english_text_or_a_duplicate_number():
    CharterVersionFactory(number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CharterVersion.objects.create(number=1, body_en="Again")
    with pytest.raises(IntegrityError), transaction.atomic():
        CharterVersion.objects.create(number=2, body_en="")
    with pytest.raises(IntegrityError), transaction.atomic():
        CharterVersion.objects.create(number=0, body_en="Zero")
