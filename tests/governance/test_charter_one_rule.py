"""One charter rule for the email and the inbox: attacks with a version published mid-round.

A participant must never be told by email "acknowledge first" while their inbox lets them
answer the same prompt, nor get a link their inbox refuses. Whatever the emails (invitation,
reminder) and the inbox (web page, API) say for the same person and prompt, they say it
together: both hold or both release. The rule (governance.charter.owes): a round asks for the
version in force when it opened.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from feedback import access, scheduling
from feedback.models import Prompt
from governance import charter
from tests.factories import (
    CharterVersionFactory,
    OpsUserFactory,
    ParticipationFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.feedback.answering_support import GOOD_ANSWERS
from tests.governance.test_charter import (
    WEDNESDAY,
    charter_requests_to,
    invitations_to,
    open_round,
    running_pilot,
    send_all,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    pulse_questionnaire()
    with time_machine.travel(WEDNESDAY, tick=False) as traveller:
        yield traveller


def inbox_releases(person, prompt: Prompt) -> bool:
    """What the inbox and the API say: the prompt is answerable (and an answer is taken)."""
    api = APIClient()
    api.force_authenticate(person)
    listed = {p["id"]: p["charter_owed"] for p in api.get("/api/v1/prompts/").json()["results"]}
    owed = access.owes_charter(person, prompt)
    assert listed[prompt.pk] is owed
    reply = api.post(f"/api/v1/prompts/{prompt.pk}/answer/", {"answers": GOOD_ANSWERS}, "json")
    assert reply.status_code == (403 if owed else 201)
    return not owed


def publish_next_version(clock, *, after: datetime.timedelta) -> None:
    clock.move_to(WEDNESDAY + after)
    charter.publish(actor=OpsUserFactory(), body_en="# Charter v2\n\nNew rules.")


def test_a_version_published_before_the_invitation_goes_out_holds_email_and_inbox_alike(clock):
    CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot).user  # acknowledged version 1
    round_ = open_round(pilot)
    prompt = Prompt.objects.get(round=round_, participant=person)
    # Version 2 lands between the round's opening and its invitations' sending.
    publish_next_version(clock, after=datetime.timedelta(minutes=5))

    send_all()
    email_releases = len(invitations_to(person)) == 1

    assert email_releases == inbox_releases(person, prompt)
    # The round opened under version 1, which they acknowledged: both release, nobody is asked.
    assert email_releases
    assert charter_requests_to(person) == []


def test_a_version_published_before_the_reminder_holds_email_and_inbox_alike(clock):
    CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot).user
    round_ = open_round(pilot)
    prompt = Prompt.objects.get(round=round_, participant=person)
    send_all()
    assert len(invitations_to(person)) == 1
    publish_next_version(clock, after=datetime.timedelta(hours=1))

    scheduling.remind_now(round_.pk, actor=OpsUserFactory())
    send_all()
    email_releases = len(invitations_to(person)) == 2  # the invitation, then the reminder

    assert email_releases == inbox_releases(person, prompt)
    assert email_releases
    assert charter_requests_to(person) == []


def test_a_round_opened_after_the_new_version_holds_email_and_inbox_alike(clock):
    CharterVersionFactory()
    pilot = running_pilot()
    person = ParticipationFactory(pilot=pilot).user  # acknowledged version 1 only
    publish_next_version(clock, after=datetime.timedelta(days=7))
    [round_id] = scheduling.open_due_rounds(
        now=WEDNESDAY + datetime.timedelta(days=7), pilot_ids=[pilot.pk]
    )
    prompt = Prompt.objects.get(round_id=round_id, participant=person)

    send_all()
    email_releases = len(invitations_to(person)) == 1

    assert email_releases == inbox_releases(person, prompt)
    assert not email_releases
    [request] = charter_requests_to(person)
    assert f"version {charter.current_version().number}" in request.body


def test_someone_who_acknowledged_nothing_is_asked_for_the_newest_version_and_released_by_it(
    clock,
):
    first = CharterVersionFactory()
    pilot = running_pilot()
    person = UserFactory()
    ParticipationFactory(pilot=pilot, user=person, acknowledged=False)
    round_ = open_round(pilot)
    prompt = Prompt.objects.get(round=round_, participant=person)
    publish_next_version(clock, after=datetime.timedelta(minutes=5))

    send_all()
    assert invitations_to(person) == []
    assert access.owes_charter(person, prompt)
    [request] = charter_requests_to(person)
    assert f"version {first.number + 1}" in request.body

    # Only the current version can be acknowledged; it settles the round opened under version 1.
    charter.acknowledge(pilot, user=person, version_id=charter.current_version().pk)
    send_all()
    email_releases = len(invitations_to(person)) == 1
    assert email_releases == inbox_releases(person, prompt)
    assert email_releases
