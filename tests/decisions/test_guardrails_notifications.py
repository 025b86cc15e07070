"""A breach alerts every Ops recipient through the outbox: at least once, retried, swept."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from core import outbox
from core.models import Delivery
from decisions import guardrails
from pilots.models import Guardrail, GuardrailBreach
from tests.decisions.evidence_support import add_round, scores
from tests.factories import MetricGuardrailFactory, OpsUserFactory, PilotFactory, UserFactory
from tests.followups_support import follow_up

pytestmark = pytest.mark.django_db

LOW_TRUST = [2, 2, 1, 3, 2, 2]
FAILING = "tests.feedback.failing_email.FailingBackend"


@pytest.fixture
def pilot(ops):  # ops: someone to email
    return PilotFactory(stage="pilot", title="Copilot for tickets")


def broken_round(pilot, action=Guardrail.Action.FLAG):
    MetricGuardrailFactory(pilot=pilot, action=action)
    return add_round(pilot, scores("trust", LOW_TRUST))


def alerts() -> list[Delivery]:
    return list(Delivery.objects.filter(kind=guardrails.BREACH_ALERT).order_by("recipient"))


def test_a_breach_queues_one_alert_per_ops_recipient_with_the_breach_and_after_commit(
    pilot, settings, spine_messages, django_capture_on_commit_callbacks
):
    settings.OPS_EMAILS = ["oncall@example.com"]
    r = broken_round(pilot)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [breach] = guardrails.evaluate_round(r.pk)
    assert [(d.recipient, d.status, d.payload) for d in alerts()] == [
        ("oncall@example.com", "queued", {"breach_id": breach.pk}),
        ("ops@example.com", "queued", {"breach_id": breach.pk}),
    ]
    assert spine_messages == []  # nothing published before the commit
    for callback in callbacks:
        callback()
    # Two alert batches, and the "breach opened" follow-up (webhooks) after the same commit.
    assert sorted(message[0] for message in spine_messages) == [
        "deliveries",
        "deliveries",
        "followup",
    ]


def test_a_superuser_gets_breach_alerts_too(pilot):
    """Ops were recomputed from the group's name: superusers got no breach email."""
    UserFactory(username="root", email="root@example.com", is_superuser=True, is_staff=True)
    UserFactory(username="someone", email="someone@example.com")
    guardrails.evaluate_round(broken_round(pilot).pk)
    assert [d.recipient for d in alerts()] == ["ops@example.com", "root@example.com"]


def test_an_inactive_ops_user_or_one_without_email_is_not_alerted(pilot):
    OpsUserFactory(username="gone", email="gone@example.com", is_active=False)
    OpsUserFactory(username="silent", email="")
    guardrails.evaluate_round(broken_round(pilot).pk)
    assert [d.recipient for d in alerts()] == ["ops@example.com"]


def test_the_alert_says_what_broke_and_what_was_done_with_a_link(pilot):
    guardrails.evaluate_round(broken_round(pilot, action=Guardrail.Action.PAUSE).pk)
    outbox.deliver([d.pk for d in alerts()])
    [email] = mail.outbox
    assert email.subject == "Guardrail broken: Copilot for tickets"
    assert "was 2; it must stay ≥ 3" in email.body
    assert "Action taken: Pilot paused." in email.body
    assert f"/pilots/{pilot.pk}/" in email.body


def test_a_round_evaluated_twice_alerts_each_recipient_once(pilot, celery_eager, settings):
    settings.OPS_EMAILS = ["oncall@example.com"]
    r = broken_round(pilot)
    for _ in range(2):
        follow_up("round_closed", round_id=r.pk)
    outbox.deliver([d.pk for d in alerts()])
    outbox.deliver([d.pk for d in alerts()])
    assert sorted(m.to[0] for m in mail.outbox) == ["oncall@example.com", "ops@example.com"]
    assert GuardrailBreach.objects.count() == 1


def test_a_failing_mail_server_retries_the_alert_with_backoff_until_it_recovers(pilot, settings):
    guardrails.evaluate_round(broken_round(pilot).pk)
    [alert] = alerts()
    settings.EMAIL_BACKEND = FAILING
    assert outbox.deliver([alert.pk]).retrying == 1
    alert.refresh_from_db()
    assert alert.status == "queued" and alert.next_attempt_at > timezone.now()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Delivery.objects.filter(pk=alert.pk).update(next_attempt_at=timezone.now())
    assert outbox.deliver([alert.pk]).sent == 1
    assert len(mail.outbox) == 1


def test_an_alert_the_mail_server_keeps_refusing_is_failed_after_six_tries(pilot, settings):
    guardrails.evaluate_round(broken_round(pilot).pk)
    [alert] = alerts()
    settings.EMAIL_BACKEND = FAILING
    for _ in range(6):
        Delivery.objects.filter(pk=alert.pk).update(next_attempt_at=timezone.now())
        outbox.deliver([alert.pk])
    alert.refresh_from_db()
    assert (alert.status, alert.attempts) == ("failed", 6)
    assert "the mail server is down" in alert.last_error


def test_the_sweep_sends_again_an_alert_whose_worker_died_while_sending(
    pilot, celery_eager, django_capture_on_commit_callbacks
):
    guardrails.evaluate_round(broken_round(pilot).pk)
    [alert] = alerts()
    # As a worker killed between its claim and "sent" leaves it.
    Delivery.objects.filter(pk=alert.pk).update(
        status="sending",
        attempts=1,
        claimed_at=timezone.now()
        - datetime.timedelta(minutes=django_settings.OUTBOX_STUCK_MINUTES + 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.sweep()
    alert.refresh_from_db()
    assert (alert.status, alert.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_beat_ticks_the_sweeps_of_the_outbox_and_of_follow_up_work():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"core.tasks.sweep_outbox", "core.tasks.sweep_followups"} <= tasks


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_alert_at_once_send_one_email(postgres):
    pilot = PilotFactory(stage="pilot", title="Copilot for tickets")
    OpsUserFactory(username="ops")
    guardrails.evaluate_round(broken_round(pilot).pk)
    [alert] = alerts()
    barrier = threading.Barrier(2)
    results = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(outbox.deliver([alert.pk]).sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
