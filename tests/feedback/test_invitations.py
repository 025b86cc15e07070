"""Invitations and reminders on the outbox: a working link each, at most once, re-sent by Ops."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail

from core import outbox
from core.exceptions import DomainError, PermissionRefused
from core.models import Delivery
from feedback import invitations, scheduling
from feedback.models import FeedbackRound, Prompt
from feedback.tokens import hash_token
from pilots import lifecycle
from pilots.models import Pilot
from tests.factories import (
    FeedbackRoundFactory,
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    PromptFactory,
    TeamFactory,
    pulse_questionnaire,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
HALFWAY = WEDNESDAY + datetime.timedelta(days=2)
TOKEN_RE = re.compile(r"/feedback/answer/([A-Za-z0-9_\-]+)/")


@pytest.fixture(autouse=True)
def wednesday():
    """Every email here is built and sent on the Wednesday the round opened."""
    pulse_questionnaire()
    with time_machine.travel(WEDNESDAY, tick=False) as traveller:
        yield traveller


def tokens_in(messages) -> list[str]:
    return [TOKEN_RE.search(m.body).group(1) for m in messages]


def open_one(participants: int = 3, **kwargs) -> FeedbackRound:
    kwargs = {"cadence": "weekly", "cadence_weekday": 0, "stage": "pilot", **kwargs}
    pilot = PilotFactory(team=TeamFactory(timezone="Europe/Paris"), **kwargs)
    for _ in range(participants):
        ParticipationFactory(pilot=pilot)
    [round_id] = scheduling.open_due_rounds(now=WEDNESDAY)
    return FeedbackRound.objects.get(pk=round_id)


def send(round_: FeedbackRound, kind: str = invitations.INVITATION) -> outbox.Report:
    """What the worker does after the round's commit: send its batch."""
    return outbox.deliver_batch(kind, invitations.batch_of(round_.pk))


def emails_of(prompt: Prompt, kind: str = invitations.INVITATION) -> list[Delivery]:
    return list(Delivery.objects.filter(kind=kind, subject_id=str(prompt.pk)).order_by("pk"))


def status_of(prompt: Prompt, kind: str = invitations.INVITATION) -> str | None:
    found = emails_of(prompt, kind)
    return found[-1].status if found else None


# --- Invitations ------------------------------------------------------------------------------


def test_each_participant_is_emailed_a_working_link_once(django_assert_max_num_queries):
    round_ = open_one(3)
    assert send(round_).sent == 3
    assert len(mail.outbox) == 3
    prompts = {p.participant.email: p for p in Prompt.objects.select_related("participant")}
    for message, token in zip(mail.outbox, tokens_in(mail.outbox), strict=True):
        [to] = message.to
        assert prompts[to].token_hash == hash_token(token)
        assert message.body.count(token) == 1
        assert round_.pilot.title in message.subject
    assert {status_of(p) for p in prompts.values()} == {"sent"}
    assert send(round_).sent == 0 and len(mail.outbox) == 3


def test_a_prompt_answered_while_its_invitation_waits_gets_no_email_and_keeps_its_link():
    round_ = open_one(2)
    answered = Prompt.objects.first()
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    before = Prompt.objects.get(pk=answered.pk).token_hash
    assert send(round_).sent == 1
    assert [m.to for m in mail.outbox] == [
        [Prompt.objects.exclude(pk=answered.pk).get().participant.email]
    ]
    # Still "queued", like any unsent invitation: no state of its own tells Ops who answered.
    assert (status_of(answered), Prompt.objects.get(pk=answered.pk).token_hash) == (
        "queued",
        before,
    )
    scheduling.close_round(round_.pk, now=WEDNESDAY)
    assert status_of(answered) == "cancelled"


def test_a_paused_pilot_s_invitations_wait_and_go_out_when_it_resumes(ops, wednesday):
    round_ = open_one(3)
    lifecycle.move(
        round_.pilot_id, "pause", actor=ops, expected_stage="pilot", rationale="Under review"
    )
    report = send(round_)
    assert (report.sent, report.postponed) == (0, 3) and mail.outbox == []
    assert {status_of(p) for p in Prompt.objects.all()} == {"queued"}
    lifecycle.move(round_.pilot_id, "resume", actor=ops, expected_stage="paused")
    wednesday.shift(datetime.timedelta(minutes=11))
    assert send(round_).sent == 3


def test_a_stopped_pilot_s_invitations_are_not_needed_any_more(ops):
    round_ = open_one(2)
    Pilot.objects.filter(pk=round_.pilot_id).update(stage="stopped")
    assert send(round_).cancelled == 2 and mail.outbox == []


def test_nothing_goes_out_for_a_closed_round():
    round_ = open_one(2)
    scheduling.close_round(round_.pk, now=WEDNESDAY)
    assert send(round_).sent == 0 and mail.outbox == []
    assert {status_of(p) for p in Prompt.objects.all()} == {"cancelled"}


def test_a_refused_send_is_retried_then_given_up(settings, wednesday):
    settings.EMAIL_BACKEND = "tests.feedback.failing_email.FailingBackend"
    round_ = open_one(1)
    for expected in ("queued", "queued", "failed"):
        send(round_)
        assert status_of(Prompt.objects.get()) == expected
        wednesday.shift(datetime.timedelta(minutes=11))
    assert emails_of(Prompt.objects.get())[0].attempts == 3


def test_a_send_batch_says_what_remains(settings):
    settings.OUTBOX_BATCH = 2
    round_ = open_one(5)
    assert send(round_).remaining == 3
    assert send(round_).remaining == 1
    last = send(round_)
    assert (last.sent, last.remaining) == (1, 0)
    assert len(mail.outbox) == 5


def test_an_invitation_whose_worker_died_mid_send_is_failed_and_never_sent_again(wednesday):
    """Its email may have arrived: at most one invitation per participant, Ops decide."""
    round_ = open_one(2)
    stuck = Prompt.objects.order_by("pk").first()
    [delivery] = emails_of(stuck)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", attempts=1, claimed_at=WEDNESDAY
    )
    wednesday.shift(datetime.timedelta(minutes=django_settings.OUTBOX_STUCK_MINUTES + 1))
    assert outbox.sweep()["failed"] == 1
    assert status_of(stuck) == "failed"
    assert send(round_).sent == 1  # the other participant only
    assert stuck.participant.email not in [m.to[0] for m in mail.outbox]


# --- Reminders --------------------------------------------------------------------------------


def sent_round(participants: int = 3) -> FeedbackRound:
    round_ = open_one(participants, response_window_days=4)
    send(round_)
    mail.outbox.clear()
    return round_


def test_no_reminder_before_halfway_through_the_window():
    sent_round()
    assert scheduling.remind(now=HALFWAY - datetime.timedelta(minutes=1)) == []
    assert not Delivery.objects.filter(kind=invitations.REMINDER).exists()


def test_the_reminder_goes_once_to_unanswered_prompts_with_a_new_link(wednesday):
    round_ = sent_round(3)
    answered = Prompt.objects.first()
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    old_hashes = dict(Prompt.objects.values_list("pk", "token_hash"))
    wednesday.move_to(HALFWAY)
    assert scheduling.remind(now=HALFWAY) == [round_.pk]
    assert send(round_, invitations.REMINDER).sent == 2
    assert scheduling.remind(now=HALFWAY + datetime.timedelta(hours=1)) == []
    assert send(round_, invitations.REMINDER).sent == 0
    assert len(mail.outbox) == 2
    for message, token in zip(mail.outbox, tokens_in(mail.outbox), strict=True):
        prompt = Prompt.objects.get(participant__email=message.to[0])
        assert prompt.token_hash == hash_token(token) != old_hashes[prompt.pk]
        assert status_of(prompt, invitations.REMINDER) == "sent"
        assert "replaces" in message.body
    assert status_of(answered, invitations.REMINDER) is None


def test_a_participant_away_on_reminder_day_is_not_reminded_even_when_back(wednesday):
    round_ = sent_round(2)
    away = Prompt.objects.first().participant
    away.absences.create(starts_on=HALFWAY.date(), ends_on=HALFWAY.date())
    wednesday.move_to(HALFWAY)
    scheduling.remind(now=HALFWAY)
    send(round_, invitations.REMINDER)
    assert mail.outbox and away.email not in [m.to[0] for m in mail.outbox]
    assert status_of(Prompt.objects.get(participant=away), invitations.REMINDER) == "cancelled"
    assert scheduling.remind(now=HALFWAY + datetime.timedelta(days=1)) == []


def test_a_reminder_the_mail_server_refused_queues_an_invitation_with_a_working_link(
    settings, wednesday
):
    """The reminder replaced the link and its own never went out: invite again."""
    round_ = sent_round(1)
    prompt = Prompt.objects.get()
    wednesday.move_to(HALFWAY)
    scheduling.remind(now=HALFWAY)
    settings.EMAIL_BACKEND = "tests.feedback.failing_email.FailingBackend"
    send(round_, invitations.REMINDER)
    assert status_of(prompt, invitations.REMINDER) == "failed"
    assert status_of(prompt) == "queued"  # a second invitation
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send(round_).sent == 1
    prompt.refresh_from_db()
    assert prompt.token_hash == hash_token(tokens_in(mail.outbox)[0])


def test_a_reminder_whose_worker_died_mid_send_is_not_followed_by_anything(wednesday):
    round_ = sent_round(1)
    prompt = Prompt.objects.get()
    wednesday.move_to(HALFWAY)
    scheduling.remind(now=HALFWAY)
    [reminder] = emails_of(prompt, invitations.REMINDER)
    Delivery.objects.filter(pk=reminder.pk).update(status="sending", attempts=1, claimed_at=HALFWAY)
    wednesday.shift(datetime.timedelta(minutes=django_settings.OUTBOX_STUCK_MINUTES + 1))
    outbox.sweep()
    assert status_of(prompt, invitations.REMINDER) == "failed"
    assert [d.status for d in emails_of(prompt)] == ["sent"]  # no second invitation by itself
    assert send(round_).sent == 0 and mail.outbox == []


def test_a_paused_pilot_s_reminders_wait(ops, wednesday):
    round_ = sent_round(2)
    wednesday.move_to(HALFWAY)
    scheduling.remind(now=HALFWAY)
    lifecycle.move(
        round_.pilot_id, "pause", actor=ops, expected_stage="pilot", rationale="Under review"
    )
    assert send(round_, invitations.REMINDER).postponed == 2
    assert mail.outbox == []


def test_ops_send_the_reminders_now_before_halfway_once_per_prompt(
    ops, celery_eager, django_capture_on_commit_callbacks, caplog
):
    round_ = sent_round(3)
    answered = Prompt.objects.first()
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    early = WEDNESDAY + datetime.timedelta(hours=2)
    assert scheduling.remind(now=early) == []  # the beat would wait for halfway
    caplog.set_level("INFO", logger="feedback.scheduling")
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduling.remind_now(round_.pk, actor=ops, now=early) == 2
    # The reminders went out after commit, as when the beat queues them.
    assert len(mail.outbox) == 2
    assert answered.participant.email not in [m.to[0] for m in mail.outbox]
    assert "replaces" in mail.outbox[0].body
    assert f"2 reminder(s) of feedback round {round_.pk} queued now by user {ops.pk}." in (
        caplog.messages
    )
    with pytest.raises(DomainError) as refused:
        scheduling.remind_now(round_.pk, actor=ops, now=early)
    assert (refused.value.code, refused.value.field) == ("nothing_to_remind", "round")
    assert scheduling.remind(now=HALFWAY) == []  # one reminder per prompt
    assert len(mail.outbox) == 2


def test_reminding_now_skips_participants_away_today(ops):
    round_ = sent_round(2)
    away = Prompt.objects.first().participant
    away.absences.create(starts_on=WEDNESDAY.date(), ends_on=WEDNESDAY.date())
    assert scheduling.remind_now(round_.pk, actor=ops, now=WEDNESDAY) == 1
    assert status_of(Prompt.objects.get(participant=away), invitations.REMINDER) == "cancelled"


def test_reminding_now_is_refused_for_a_closed_round_or_a_paused_pilot(ops):
    closed = sent_round(2)
    scheduling.close_round(closed.pk, now=WEDNESDAY)
    with pytest.raises(DomainError) as refused:
        scheduling.remind_now(closed.pk, actor=ops, now=WEDNESDAY)
    assert refused.value.code == "round_closed"
    paused_pilot = PilotFactory(stage="paused", paused_from="pilot")
    paused = FeedbackRoundFactory(pilot=paused_pilot)
    PromptFactory(round=paused)
    with pytest.raises(DomainError) as refused:
        scheduling.remind_now(paused.pk, actor=ops)
    assert refused.value.code == "pilot_inactive"
    assert "Paused" in refused.value.message
    assert not Delivery.objects.filter(kind=invitations.REMINDER, status="queued").exists()
    with pytest.raises(DomainError) as refused:
        scheduling.remind_now(987654, actor=ops)
    assert refused.value.code == "round_not_found"


# --- Re-sending -------------------------------------------------------------------------------


def failed_invitation(round_: FeedbackRound) -> Prompt:
    prompt = Prompt.objects.filter(round=round_).order_by("pk").first()
    Delivery.objects.filter(kind=invitations.INVITATION, subject_id=str(prompt.pk)).update(
        status="failed", attempts=3
    )
    return prompt


def test_ops_resend_a_failed_invitation_which_goes_out_with_a_fresh_link(
    ops, django_capture_on_commit_callbacks, spine_messages
):
    round_ = open_one(2)
    prompt = failed_invitation(round_)
    old_hash = prompt.token_hash
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.resend_invitation(prompt.pk, actor=ops, now=WEDNESDAY)
    assert spine_messages  # the round's batch is sent after commit
    assert [d.status for d in emails_of(prompt)] == ["failed", "queued"]
    send(round_)
    prompt.refresh_from_db()
    assert status_of(prompt) == "sent"
    mine = [m for m in mail.outbox if m.to == [prompt.participant.email]]
    assert len(mine) == 1
    assert prompt.token_hash == hash_token(tokens_in(mine)[0]) != old_hash


def test_only_ops_resend_an_invitation(lead):
    """resend_invitation took an actor and never checked it."""
    prompt = failed_invitation(open_one(1))
    with pytest.raises(PermissionRefused):
        scheduling.resend_invitation(prompt.pk, actor=lead, now=WEDNESDAY)
    with pytest.raises(PermissionRefused):
        scheduling.resend_invitation(
            prompt.pk, actor=OpsUserFactory(username="gone", is_active=False), now=WEDNESDAY
        )
    assert [d.status for d in emails_of(prompt)] == ["failed"]


def test_the_invitations_module_checks_the_actor_too(lead):
    """Every domain write checks its actor, not only the function Ops usually call."""
    prompt = failed_invitation(open_one(1))
    with pytest.raises(PermissionRefused):
        invitations.resend(prompt.pk, actor=lead, now=WEDNESDAY)
    assert [d.status for d in emails_of(prompt)] == ["failed"]


def test_resending_is_refused_for_an_answered_prompt(ops):
    prompt = failed_invitation(open_one(1))
    Prompt.objects.filter(pk=prompt.pk).update(answered=True)
    with pytest.raises(DomainError) as refused:
        scheduling.resend_invitation(prompt.pk, actor=ops, now=WEDNESDAY)
    assert (refused.value.code, refused.value.field) == ("prompt_answered", "prompt")


def test_resending_is_refused_once_the_round_is_closed(ops):
    round_ = open_one(1)
    prompt = failed_invitation(round_)
    scheduling.close_round(round_.pk, now=WEDNESDAY)
    with pytest.raises(DomainError) as refused:
        scheduling.resend_invitation(prompt.pk, actor=ops, now=WEDNESDAY)
    assert (refused.value.code, refused.value.field) == ("round_closed", "round")


def test_resending_is_refused_for_an_invitation_that_did_not_fail(ops):
    round_ = open_one(1)
    send(round_)
    with pytest.raises(DomainError) as refused:
        scheduling.resend_invitation(Prompt.objects.get().pk, actor=ops, now=WEDNESDAY)
    assert (refused.value.code, refused.value.field) == ("not_failed", "prompt")
    assert len(mail.outbox) == 1
