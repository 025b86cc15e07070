"""Drills with a real Celery worker process, real Redis and PostgreSQL.

Each test starts `celery -A aiops_site worker` on the test database (the celery_worker
fixture), enqueues tasks the way beat or a commit would, and checks rows and the emails the
worker wrote to files.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core import tasks as core_tasks
from core.models import Delivery
from feedback import invitations, scheduling, tasks
from feedback.models import FeedbackRound, Prompt
from feedback.tokens import hash_token
from pilots.models import Participation
from tests.factories import PilotFactory, ResponseFactory, TeamFactory, pulse_questionnaire
from tests.feedback.email_files import read_emails
from tests.feedback.slow_email import HANG_MARKER
from tests.waiting import wait_until

# Stands for a slow mail server, so that a drill can act in the middle of a fan-out.
SLOW = "tests.feedback.slow_email.SlowFileBackend"

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    # Periods start at midnight UTC today, so a round is due whatever the time of the run.
    pytest.mark.worker_env(FEEDBACK_ROUND_OPEN_HOUR="0"),
]


@pytest.fixture(autouse=True)
def _open_at_midnight(settings):
    settings.FEEDBACK_ROUND_OPEN_HOUR = 0


def make_pilot(participants: int):
    pulse_questionnaire()
    today = timezone.now().astimezone(datetime.UTC)
    pilot = PilotFactory(
        stage="pilot",
        team=TeamFactory(timezone="UTC"),
        cadence="weekly",
        cadence_weekday=today.weekday(),
        response_window_days=3,
    )
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"p{pilot.pk}-{i}", email=f"p{pilot.pk}-{i}@example.com")
        for i in range(participants)
    )
    Participation.objects.bulk_create(Participation(pilot=pilot, user=u) for u in users)
    return pilot


def count(**filters) -> int:
    return Prompt.objects.filter(**filters).count()


def emails(kind: str = invitations.INVITATION, **filters) -> int:
    """How many emails of a kind the outbox holds, in the state given."""
    return Delivery.objects.filter(kind=kind, **filters).count()


def send_again(kind: str, round_id: int) -> None:
    """Another copy of the task a commit enqueues to send a round's emails."""
    core_tasks.deliver_batch.delay(kind, invitations.batch_of(round_id), None)


def sweep_later() -> dict:
    """The outbox sweep as beat runs it once a stuck send has outlived any send."""
    return outbox.sweep(now=timezone.now() + datetime.timedelta(minutes=16))


def assert_every_email_link_works(emails) -> None:
    hashes = dict(Prompt.objects.values_list("participant__email", "token_hash"))
    for sent in emails:
        assert hashes[sent.to] == hash_token(sent.token), f"dead link emailed to {sent.to}"


def test_open_send_remind_and_close_run_end_to_end_through_the_worker(celery_worker):
    make_pilot(3)
    tasks.open_due_rounds.delay()
    wait_until(lambda: emails(status="sent") == 3, what="three invitations sent")
    celery_worker.wait_idle()
    round_ = FeedbackRound.objects.get()
    first = read_emails(celery_worker.email_dir)
    assert sorted(e.to for e in first) == sorted(
        Prompt.objects.values_list("participant__email", flat=True)
    )
    assert_every_email_link_works(first)

    # Halfway through the window: one participant answered, the two others are reminded.
    now = timezone.now()
    FeedbackRound.objects.filter(pk=round_.pk).update(
        opens_at=now - datetime.timedelta(days=2), closes_at=now + datetime.timedelta(days=1)
    )
    answered = Prompt.objects.first()
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    ResponseFactory(round=round_)
    tasks.remind.delay()
    wait_until(lambda: emails("reminder", status="sent") == 2, what="two reminders sent")
    celery_worker.wait_idle()
    reminders = [e for e in read_emails(celery_worker.email_dir) if e not in first]
    assert len(reminders) == 2
    assert answered.participant.email not in {e.to for e in reminders}
    assert_every_email_link_works(reminders)

    # The window has passed: the round closes with its counts.
    FeedbackRound.objects.filter(pk=round_.pk).update(
        opens_at=now - datetime.timedelta(days=3), closes_at=now - datetime.timedelta(minutes=1)
    )
    tasks.close_due_rounds.delay()
    wait_until(lambda: FeedbackRound.objects.closed().exists(), what="the round closed")
    celery_worker.wait_idle()
    round_.refresh_from_db()
    assert (round_.invited_count, round_.response_count) == (3, 1)
    assert round_.closed_at is not None
    assert round_.results is not None


def test_opening_twice_in_a_row_and_twice_at_once_opens_and_sends_once(celery_worker):
    make_pilot(4)
    tasks.open_due_rounds.delay()
    celery_worker.wait_idle()
    tasks.open_due_rounds.delay()
    celery_worker.wait_idle()
    make_pilot(4)
    tasks.open_due_rounds.delay()
    tasks.open_due_rounds.delay()
    celery_worker.wait_idle()
    assert FeedbackRound.objects.count() == 2
    assert count() == 8
    assert emails(status="sent", attempts=1) == 8
    sent = read_emails(celery_worker.email_dir)
    assert len(sent) == 8
    assert max(Counter(e.to for e in sent).values()) == 1


@pytest.mark.worker_env(FEEDBACK_ROUND_OPEN_HOUR="0", EMAIL_BACKEND=SLOW, SLOW_EMAIL_SECONDS="0.02")
def test_sending_twice_in_a_row_and_twice_at_once_emails_each_participant_once(celery_worker):
    make_pilot(30)
    [round_id] = scheduling.open_due_rounds()  # enqueues one send after commit
    send_again(invitations.INVITATION, round_id)  # ...and two more copies run beside it
    send_again(invitations.INVITATION, round_id)
    celery_worker.wait_idle()
    send_again(invitations.INVITATION, round_id)
    celery_worker.wait_idle()
    assert emails(status="sent", attempts=1) == 30
    sent = read_emails(celery_worker.email_dir)
    assert len(sent) == 30
    assert max(Counter(e.to for e in sent).values()) == 1
    assert_every_email_link_works(sent)


@pytest.mark.worker_env(FEEDBACK_ROUND_OPEN_HOUR="0", EMAIL_BACKEND=SLOW, SLOW_EMAIL_SECONDS="0.02")
def test_reminding_twice_in_a_row_and_twice_at_once_reminds_each_participant_once(celery_worker):
    make_pilot(20)
    [round_id] = scheduling.open_due_rounds()
    wait_until(lambda: emails(status="sent") == 20, what="the invitations sent")
    now = timezone.now()
    FeedbackRound.objects.filter(pk=round_id).update(
        opens_at=now - datetime.timedelta(days=2), closes_at=now + datetime.timedelta(days=1)
    )
    tasks.remind.delay()
    tasks.remind.delay()
    celery_worker.wait_idle()
    tasks.remind.delay()
    send_again(invitations.REMINDER, round_id)
    celery_worker.wait_idle()
    assert emails(invitations.REMINDER, status="sent", attempts=1) == 20
    sent = read_emails(celery_worker.email_dir)
    assert len(sent) == 40
    assert set(Counter(e.to for e in sent).values()) == {2}
    assert_every_email_link_works([e for e in sent if "remind" in e.subject.lower()])


def test_closing_twice_in_a_row_and_twice_at_once_closes_once(celery_worker):
    make_pilot(3)
    [round_id] = scheduling.open_due_rounds()
    wait_until(lambda: emails(status="sent") == 3, what="the invitations sent")
    now = timezone.now()
    FeedbackRound.objects.filter(pk=round_id).update(
        opens_at=now - datetime.timedelta(days=3), closes_at=now - datetime.timedelta(minutes=1)
    )
    tasks.close_due_rounds.delay()
    tasks.close_due_rounds.delay()
    tasks.close_round.delay(round_id)
    celery_worker.wait_idle()
    closed_at = FeedbackRound.objects.get().closed_at
    tasks.close_round.delay(round_id)
    tasks.close_due_rounds.delay()
    celery_worker.wait_idle()
    round_ = FeedbackRound.objects.get()
    assert round_.status == "closed"
    assert round_.closed_at == closed_at
    assert round_.invited_count == 3


@pytest.mark.worker_concurrency(1)
@pytest.mark.worker_env(
    FEEDBACK_ROUND_OPEN_HOUR="0",
    EMAIL_BACKEND=SLOW,
    SLOW_EMAIL_SECONDS="0.01",
    # The 40th email is accepted by the mail server, then the worker hangs before it can
    # record it as sent: the test kills it right there, the worst moment for a duplicate.
    SLOW_EMAIL_HANG_AFTER="40",
    # The restarted worker takes back the killed one's unacknowledged task within seconds.
    CELERY_VISIBILITY_TIMEOUT="4",
    CELERY_UNACKED_RESTORE_INTERVAL="1",
    CELERY_UNACKED_RESTORE_THROTTLE="1",
)
def test_a_worker_killed_in_the_middle_of_a_fan_out_leaves_one_prompt_and_at_most_one_email(
    celery_worker, client, ops
):
    make_pilot(200)
    [round_id] = scheduling.open_due_rounds()
    # The marker file says the worker really hangs: 40 emails alone could be seen in the short
    # pause before it checks, and a worker killed there would leave the hang to its successor.
    wait_until(
        lambda: (
            (celery_worker.email_dir / HANG_MARKER).exists()
            and emails(status="sending") == 1
            and len(read_emails(celery_worker.email_dir)) == 40
        ),
        what="the worker hanging after the 40th email",
    )
    celery_worker.kill()
    [stuck] = Delivery.objects.filter(status="sending")
    assert stuck.recipient in {e.to for e in read_emails(celery_worker.email_dir)}
    assert emails(status="sent") == 39
    assert emails(status="queued") == 160

    # Restarted, the worker gets the unacknowledged task back (after the visibility timeout)
    # and sends what is still queued; the prompt it was sending when killed stays aside.
    celery_worker.start()
    wait_until(lambda: emails(status="queued") == 0, timeout=120, what="the fan-out resumed")
    celery_worker.wait_idle()
    assert count(round_id=round_id) == 200
    assert Prompt.objects.values("participant").distinct().count() == 200
    assert (emails(status="sent"), emails(status="sending")) == (199, 1)

    # The sweep gives up on the stuck invitation: its email did get out, and nothing sends
    # another one. It is failed, for Ops to look at.
    report = sweep_later()
    celery_worker.wait_idle()
    assert report["failed"] == 1
    assert list(Delivery.objects.filter(status="failed")) == [stuck]
    assert emails(status="sent") == 199
    sent = read_emails(celery_worker.email_dir)
    per_person = Counter(e.to for e in sent)
    assert len(per_person) == 200
    assert set(per_person.values()) == {1}
    assert_every_email_link_works(sent)

    client.force_login(ops)
    listed = client.get(reverse("admin:feedback_prompt_changelist"), {"email": "failed"})
    assert str(stuck.recipient_user) in listed.content.decode()


def test_after_beat_was_silent_for_three_periods_only_the_current_round_opens(celery_worker):
    pilot = make_pilot(2)
    three_weeks_ago = timezone.now() - datetime.timedelta(weeks=3)
    with time_machine.travel(three_weeks_ago, tick=False):
        [old_round] = scheduling.open_due_rounds()
    # Beat is back: its tick arrives, twice even.
    tasks.open_due_rounds.delay()
    tasks.open_due_rounds.delay()
    celery_worker.wait_idle()
    starts = list(pilot.rounds.order_by("period_start").values_list("period_start", flat=True))
    today = timezone.now().astimezone(datetime.UTC).date()
    assert starts == [FeedbackRound.objects.get(pk=old_round).period_start, today]
    assert starts[1] - starts[0] == datetime.timedelta(weeks=3)
    current = pilot.rounds.get(period_start=today)
    assert emails(status="sent", batch=invitations.batch_of(current.pk)) == 2


def test_a_round_closing_while_answers_arrive_counts_exactly_the_accepted_answers(
    celery_worker,
):
    import threading

    from django.db import connection

    from feedback.answering import AnsweringClosed, submit_response

    make_pilot(30)
    [round_id] = scheduling.open_due_rounds()
    wait_until(lambda: emails(status="sent") == 30, what="the invitations sent")
    celery_worker.wait_idle()
    tokens = [e.token for e in read_emails(celery_worker.email_dir)]
    answers = {
        "minutes_saved": "30",
        "quality": "4",
        "trust": "4",
        "recommend": "8",
        "incident": "no",
    }
    accepted, refused, errors = [], [], []

    def answer(token: str) -> None:
        try:
            submit_response(token=token, answers=answers)
            accepted.append(token)
        except AnsweringClosed:
            refused.append(token)
        except Exception as exc:  # reported below: any other error fails the test
            errors.append(exc)
        finally:
            connection.close()

    early = [threading.Thread(target=answer, args=(t,)) for t in tokens[:10]]
    late = [threading.Thread(target=answer, args=(t,)) for t in tokens[10:]]
    for thread in early:
        thread.start()
    for thread in early:
        thread.join(timeout=60)
    # The close goes to the worker while twenty more answers are on their way.
    tasks.close_round.delay(round_id)
    for thread in late:
        thread.start()
    for thread in late:
        thread.join(timeout=60)
    wait_until(lambda: FeedbackRound.objects.closed().exists(), what="the round closed")
    celery_worker.wait_idle()
    assert errors == []
    assert len(accepted) + len(refused) == 30
    assert len(accepted) >= 10
    round_ = FeedbackRound.objects.get()
    assert round_.response_count == len(accepted) == round_.responses.count()
    assert count(round_id=round_id, answered=True) == len(accepted)


@pytest.mark.worker_concurrency(1)
@pytest.mark.worker_env(FEEDBACK_ROUND_OPEN_HOUR="0", EMAIL_BACKEND=SLOW, SLOW_EMAIL_SECONDS="0.03")
def test_pausing_a_pilot_in_the_middle_of_a_fan_out_stops_its_emails(celery_worker, ops):
    from pilots import lifecycle

    pilot = make_pilot(100)
    scheduling.open_due_rounds()
    wait_until(lambda: emails(status="sent") >= 10, what="the fan-out under way")
    lifecycle.move(
        pilot.pk, "pause", actor=ops, expected_stage="pilot", rationale="Incident under review"
    )
    # Only an invitation already claimed when the pause committed may still go out.
    in_flight = emails(status="sent") + emails(status="sending")
    celery_worker.wait_idle()
    assert emails(status="sent") <= in_flight
    assert emails(status="queued") >= 100 - in_flight
    invitations_sent = [e for e in read_emails(celery_worker.email_dir) if not e.is_notification]
    assert len(invitations_sent) == emails(status="sent")
    # Nothing more goes out later either: the sweep enqueues the waiting invitations again,
    # and they wait again while the pilot is paused.
    sweep_later()
    celery_worker.wait_idle()
    assert emails(status="sent") <= in_flight
    invitations_sent = [e for e in read_emails(celery_worker.email_dir) if not e.is_notification]
    assert len(invitations_sent) == emails(status="sent")
