"""Fatigue across pilots: at most FEEDBACK_MAX_INVITES_PER_WEEK invitation emails a person a week.

Invitations due together go in one email with a link per prompt; each link answers its own
prompt; the rounds' windows and what each round counts do not change.
"""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from core import outbox
from core.models import Delivery
from feedback import invitations, scheduling
from feedback.models import FeedbackRound, Prompt
from feedback.tokens import hash_token
from tests.factories import (
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
MONDAY = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"/feedback/answer/([A-Za-z0-9_\-]+)/")


@pytest.fixture(autouse=True)
def monday():
    pulse_questionnaire()
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def pilots_with(person, count: int, *, weekday: int = 0) -> list:
    team = TeamFactory(timezone="Europe/Paris")
    pilots = []
    for i in range(count):
        pilot = PilotFactory(
            team=team, stage="pilot", cadence="weekly", cadence_weekday=weekday, title=f"Pilot {i}"
        )
        ParticipationFactory(pilot=pilot, user=person)
        ParticipationFactory(pilot=pilot)  # a colleague in each pilot, alone in it
        pilots.append(pilot)
    return pilots


def send_every_round() -> None:
    """Each round's batch, as the workers send them after the rounds' commit."""
    for round_ in FeedbackRound.objects.order_by("pk"):
        outbox.deliver_batch(invitations.INVITATION, invitations.batch_of(round_.pk))


def emails_to(person) -> list:
    return [m for m in mail.outbox if m.to == [person.email]]


def test_three_pilots_with_a_cap_of_one_make_one_email_whose_links_each_answer_their_prompt(
    client, settings
):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 1
    person = UserFactory()
    pilots = pilots_with(person, 3)
    scheduling.open_due_rounds(now=MONDAY)

    send_every_round()
    send_every_round()  # a repeat sends nothing more

    [email] = emails_to(person)
    tokens = TOKEN_RE.findall(email.body)
    assert len(tokens) == 3
    prompts = {p.round.pilot_id: p for p in Prompt.objects.filter(participant=person)}
    by_hash = {p.token_hash: p for p in prompts.values()}
    assert set(by_hash) == {hash_token(t) for t in tokens}
    for token in tokens:
        prompt = by_hash[hash_token(token)]
        page = client.get(reverse("feedback_answer", args=[token])).content.decode()
        assert prompt.round.pilot.title in page
        others = [p.title for p in pilots if p.pk != prompt.round.pilot_id]
        assert not [title for title in others if title in page]
    # Each prompt's invitation is recorded as sent once; colleagues got their own email each.
    statuses = Delivery.objects.filter(kind="invitation", recipient_user=person)
    assert sorted(statuses.values_list("status", flat=True)) == ["sent"] * 3
    assert len(mail.outbox) == 1 + 3
    # The rounds' windows and counts are untouched: each round invited its two people.
    for round_ in FeedbackRound.objects.all():
        assert round_.prompts.count() == 2
        assert round_.closes_at == round_.opens_at + datetime.timedelta(days=3)


def test_at_the_cap_a_later_invitation_waits_and_its_round_closing_cancels_it(settings, monday):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 1
    person = UserFactory()
    pilots_with(person, 1, weekday=0)
    [wednesday_pilot] = pilots_with(person, 1, weekday=2)
    scheduling.open_due_rounds(now=MONDAY)
    send_every_round()
    assert len(emails_to(person)) == 1

    wednesday = MONDAY + datetime.timedelta(days=2)
    monday.move_to(wednesday)
    scheduling.open_due_rounds(now=wednesday)
    send_every_round()
    assert len(emails_to(person)) == 1  # capped: the week's one email went out on Monday
    # (Monday opened the Wednesday pilot's current period too, in Monday's email.)
    late = Prompt.objects.filter(participant=person, round__pilot=wednesday_pilot).latest(
        "round__opens_at"
    )
    delivery = Delivery.objects.get(kind="invitation", subject_id=str(late.pk))
    assert delivery.status == "queued"
    assert delivery.next_attempt_at >= MONDAY + datetime.timedelta(days=7)
    # The round keeps its window; closing it cancels the waiting email.
    scheduling.close_round(late.round_id, now=late.round.closes_at)
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"


def test_with_a_cap_of_two_the_second_email_of_the_week_goes_out(settings, monday):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 2
    person = UserFactory()
    pilots_with(person, 1, weekday=0)
    pilots_with(person, 1, weekday=2)
    scheduling.open_due_rounds(now=MONDAY)
    send_every_round()
    monday.move_to(MONDAY + datetime.timedelta(days=2))
    scheduling.open_due_rounds(now=MONDAY + datetime.timedelta(days=2))
    send_every_round()
    assert len(emails_to(person)) == 2


def test_without_a_cap_each_invitation_is_its_own_email(settings):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 0
    person = UserFactory()
    pilots_with(person, 3)
    scheduling.open_due_rounds(now=MONDAY)
    send_every_round()
    assert len(emails_to(person)) == 3


def test_an_invitation_ops_re_send_is_neither_capped_nor_grouped(settings, monday):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 1
    person = UserFactory()
    pilots_with(person, 2)
    scheduling.open_due_rounds(now=MONDAY)
    send_every_round()
    assert len(emails_to(person)) == 1
    prompt = Prompt.objects.filter(participant=person).order_by("pk").first()
    Delivery.objects.filter(kind="invitation", subject_id=str(prompt.pk)).update(
        status="failed", sent_at=None
    )
    invitations.resend(prompt.pk, actor=OpsUserFactory())
    outbox.deliver_batch(invitations.INVITATION, invitations.batch_of(prompt.round_id))
    assert len(emails_to(person)) == 2
    assert len(TOKEN_RE.findall(emails_to(person)[-1].body)) == 1


def test_a_grouped_email_the_mail_server_refuses_fails_every_invitation_in_it(
    settings, monkeypatch
):
    settings.FEEDBACK_MAX_INVITES_PER_WEEK = 1
    person = UserFactory()
    pilots_with(person, 2)
    scheduling.open_due_rounds(now=MONDAY)

    def refuse(delivery, message, connection):
        raise OSError("mail server down")

    monkeypatch.setitem(outbox._channels, "email", refuse)
    first_round = FeedbackRound.objects.order_by("pk").first()
    for _attempt in range(invitations.MAX_INVITATION_ATTEMPTS):
        Delivery.objects.filter(status="queued").update(next_attempt_at=MONDAY)
        outbox.deliver_batch(invitations.INVITATION, invitations.batch_of(first_round.pk))
    mine = Delivery.objects.filter(kind="invitation", recipient_user=person)
    assert sorted(mine.values_list("status", flat=True)) == ["failed", "failed"]
