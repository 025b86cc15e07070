"""The Ops email of a breach: queued → sending → sent, once, retried, swept when stuck."""

import datetime
import threading

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import IntegrityError, connection
from django.utils import timezone

from pilots import guardrails, tasks
from pilots.guardrails import NotifyOutcome
from pilots.models import Guardrail, GuardrailBreach
from tests.factories import MetricGuardrailFactory, PilotFactory
from tests.followups_support import follow_up
from tests.pilots.evidence_support import add_round, scores

pytestmark = pytest.mark.django_db

LOW_TRUST = [2, 2, 1, 3, 2, 2]
FAILING = "tests.feedback.failing_email.FailingBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
QUEUED, SENDING, SENT = "queued", "sending", "sent"


@pytest.fixture
def pilot(ops):  # ops: someone to email
    return PilotFactory(stage="pilot", title="Copilot for tickets")


@pytest.fixture
def eager_retries(celery_eager):
    """Run tasks eagerly, each retry at once (without its countdown) instead of raising it."""
    previous = celery_eager.conf.task_eager_propagates
    celery_eager.conf.task_eager_propagates = False
    yield celery_eager
    celery_eager.conf.task_eager_propagates = previous


def make_breach(pilot, **fields) -> GuardrailBreach:
    # Each on its own statistic: one enabled threshold per question and statistic.
    statistic = ["mean", "yes_count", "yes_share"][pilot.guardrails.count() % 3]
    guardrail = MetricGuardrailFactory(
        pilot=pilot,
        action=Guardrail.Action.FLAG,
        question_key=f"q{pilot.guardrails.count()}",
        statistic=statistic,
    )
    return GuardrailBreach.objects.create(
        guardrail=guardrail, pilot=pilot, detail="Trust fell to 2.00.", **fields
    )


def minutes_ago(minutes: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def test_a_new_breach_is_queued_and_its_email_is_enqueued_only_after_commit(
    pilot, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tasks.notify_breach, "delay", enqueued.append)
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [breach] = guardrails.evaluate_round(r.pk)
    assert enqueued == []
    assert (breach.notify_status, breach.notified_at) == (QUEUED, None)
    for callback in callbacks:
        callback()
    assert enqueued == [breach.pk]
    assert mail.outbox == []


def test_the_notify_task_run_twice_sends_one_email_and_marks_the_breach_sent(pilot, celery_eager):
    breach = make_breach(pilot)
    first = tasks.notify_breach.apply(args=[breach.pk]).get()
    second = tasks.notify_breach.apply(args=[breach.pk]).get()
    assert first == {"breach": breach.pk, "outcome": "sent"}
    assert second == {"breach": breach.pk, "outcome": "skipped"}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert mail.outbox[0].subject == "Guardrail broken: Copilot for tickets"
    assert "Trust fell to 2.00." in mail.outbox[0].body
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts) == (SENT, 1)
    assert breach.notified_at is not None


def test_a_round_evaluated_twice_through_eager_tasks_emails_ops_once(
    pilot, celery_eager, django_capture_on_commit_callbacks
):
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            follow_up("round_closed", round_id=r.pk)
    assert len(mail.outbox) == 1
    assert GuardrailBreach.objects.get().notify_status == SENT


def test_a_failing_mail_server_leaves_the_breach_queued_and_the_next_try_sends_it(pilot, settings):
    breach = make_breach(pilot)
    settings.EMAIL_BACKEND = FAILING
    assert guardrails.notify_breach(breach.pk) == NotifyOutcome.FAILED
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts, breach.notified_at) == (QUEUED, 1, None)
    settings.EMAIL_BACKEND = LOCMEM
    assert guardrails.notify_breach(breach.pk) == NotifyOutcome.SENT
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts) == (SENT, 2)
    assert len(mail.outbox) == 1


def test_the_task_retries_a_failed_email_with_backoff_then_leaves_it_queued_for_the_sweep(
    pilot, settings, eager_retries, monkeypatch
):
    breach = make_breach(pilot)
    settings.EMAIL_BACKEND = FAILING
    countdowns = []
    retry = tasks.notify_breach.retry

    def record(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(tasks.notify_breach, "retry", record)
    result = tasks.notify_breach.apply(args=[breach.pk]).get()
    assert result == {"breach": breach.pk, "outcome": "failed"}
    assert countdowns == [60, 120, 240, 300, 300]
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts) == (QUEUED, 6)
    assert max(countdowns) < django_settings.GUARDRAIL_NOTIFY_STUCK_MINUTES * 60
    assert mail.outbox == []


def test_a_retry_after_the_mail_server_recovers_sends_the_email_once(
    pilot, eager_retries, monkeypatch
):
    breach = make_breach(pilot)
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionRefusedError("the mail server is down")
        return real_send(*args, **kwargs)

    real_send = guardrails.send_mail
    monkeypatch.setattr(guardrails, "send_mail", fail_once)
    result = tasks.notify_breach.apply(args=[breach.pk]).get()
    assert result == {"breach": breach.pk, "outcome": "sent"}
    assert len(mail.outbox) == 1
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts) == (SENT, 2)


def test_without_any_ops_recipient_the_breach_stays_queued_until_someone_can_be_emailed(
    settings, celery_eager, django_capture_on_commit_callbacks
):
    pilot = PilotFactory(stage="pilot")  # and no Ops user
    settings.OPS_EMAILS = []
    breach = make_breach(pilot)
    assert guardrails.notify_breach(breach.pk) == NotifyOutcome.NO_RECIPIENT
    breach.refresh_from_db()
    assert breach.notify_status == QUEUED
    settings.OPS_EMAILS = ["oncall@example.com"]
    later = timezone.now() + datetime.timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        swept = guardrails.sweep_stuck_notifications(now=later)
    assert swept == {"requeued": 0, "enqueued": [breach.pk]}
    assert [m.to for m in mail.outbox] == [["oncall@example.com"]]


def test_the_sweep_requeues_breaches_stuck_in_sending_and_emails_them(
    pilot, celery_eager, django_capture_on_commit_callbacks
):
    stuck = make_breach(pilot, notify_status=SENDING, notify_started_at=minutes_ago(11))
    busy = make_breach(pilot, notify_status=SENDING, notify_started_at=minutes_ago(5))
    done = make_breach(
        pilot, notify_status=SENT, notify_started_at=minutes_ago(30), notified_at=minutes_ago(30)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.sweep_stuck_breach_notifications.apply().get()
    assert result == {"requeued": 1, "enqueued": [stuck.pk]}
    statuses = dict(GuardrailBreach.objects.values_list("pk", "notify_status"))
    assert statuses == {stuck.pk: SENT, busy.pk: SENDING, done.pk: SENT}
    assert len(mail.outbox) == 1
    assert "Trust fell" in mail.outbox[0].body


def test_the_sweep_re_enqueues_queued_breaches_whose_task_was_lost_but_not_recent_ones(
    pilot, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(tasks.notify_breach, "delay", enqueued.append)
    lost = make_breach(pilot, created_at=minutes_ago(20))
    gave_up = make_breach(pilot, notify_started_at=minutes_ago(12), notify_attempts=6)
    fresh = make_breach(pilot, created_at=minutes_ago(2))
    retrying = make_breach(pilot, created_at=minutes_ago(20), notify_started_at=minutes_ago(4))
    with django_capture_on_commit_callbacks(execute=True):
        result = guardrails.sweep_stuck_notifications(now=timezone.now())
    assert result == {"requeued": 0, "enqueued": [lost.pk, gave_up.pk]}
    assert enqueued == [lost.pk, gave_up.pk]
    assert fresh.pk not in enqueued and retrying.pk not in enqueued


def test_a_sending_claim_taken_back_by_the_sweep_is_not_marked_sent_by_its_old_worker(
    pilot, monkeypatch
):
    breach = make_breach(pilot)
    real_send = guardrails.send_mail

    def slow_send(*args, **kwargs):
        # While this worker is "stuck" in the send, the sweep takes the breach back and
        # another worker claims it: the late worker must not overwrite that claim.
        guardrails.sweep_stuck_notifications(now=timezone.now() + datetime.timedelta(minutes=11))
        GuardrailBreach.objects.filter(pk=breach.pk).update(
            notify_status=SENDING, notify_started_at=timezone.now()
        )
        return real_send(*args, **kwargs)

    monkeypatch.setattr(guardrails, "send_mail", slow_send)
    assert guardrails.notify_breach(breach.pk) == NotifyOutcome.SENT
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notified_at) == (SENDING, None)


def test_a_missing_breach_is_skipped_quietly(celery_eager):
    assert tasks.notify_breach.apply(args=[999_999]).get() == {
        "breach": 999_999,
        "outcome": "skipped",
    }


def test_the_database_refuses_a_sent_breach_without_the_time_it_was_sent(pilot):
    with pytest.raises(IntegrityError, match="pilots_guardrailbreach_sent_has_notified_at"):
        make_breach(pilot, notify_status=SENT)


def test_the_database_refuses_a_notified_time_on_a_breach_not_sent(pilot):
    with pytest.raises(IntegrityError, match="pilots_guardrailbreach_sent_has_notified_at"):
        make_breach(pilot, notify_status=QUEUED, notified_at=timezone.now())


def test_the_database_refuses_a_breach_in_sending_without_its_start_time(pilot):
    with pytest.raises(IntegrityError, match="pilots_guardrailbreach_sending_has_started_at"):
        make_breach(pilot, notify_status=SENDING)


def test_the_database_refuses_an_unknown_notification_status(pilot):
    with pytest.raises(IntegrityError, match="pilots_guardrailbreach_notify_status_valid"):
        make_breach(pilot, notify_status="lost")


def test_beat_ticks_the_sweep_of_stuck_breach_notifications():
    from aiops_site.celery import app

    entries = [e["task"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert "pilots.tasks.sweep_stuck_breach_notifications" in entries
    assert "pilots.tasks.sweep_stuck_breach_notifications" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_workers_notifying_the_same_breach_at_once_send_one_email(postgres):
    from tests.factories import OpsUserFactory

    OpsUserFactory(username="ops-oncall")
    breach = make_breach(PilotFactory(stage="pilot"))
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def work():
        try:
            barrier.wait(timeout=10)
            outcomes.append(guardrails.notify_breach(breach.pk))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(outcomes) == [NotifyOutcome.SENT, NotifyOutcome.SKIPPED]
    assert len(mail.outbox) == 1
    breach.refresh_from_db()
    assert (breach.notify_status, breach.notify_attempts) == (SENT, 1)
