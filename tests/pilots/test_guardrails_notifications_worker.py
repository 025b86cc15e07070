"""Breach emails through a real Celery worker, Redis and PostgreSQL: repeats and the sweep."""

import datetime

import pytest
from django.utils import timezone

from pilots import tasks
from pilots.models import GuardrailBreach
from tests.factories import MetricGuardrailFactory, OpsUserFactory, PilotFactory
from tests.feedback.email_files import read_emails
from tests.pilots.test_guardrails_worker import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def make_breach(**fields) -> GuardrailBreach:
    OpsUserFactory(username="ops-oncall")
    pilot = PilotFactory(stage="pilot", title="Copilot for tickets")
    guardrail = MetricGuardrailFactory(pilot=pilot, action="flag")
    return GuardrailBreach.objects.create(
        guardrail=guardrail, pilot=pilot, detail="Trust fell to 2.00.", **fields
    )


def is_sent(breach: GuardrailBreach) -> bool:
    return GuardrailBreach.objects.get(pk=breach.pk).notify_status == "sent"


def test_three_copies_of_the_notify_task_at_once_send_one_email(celery_worker):
    breach = make_breach()
    for _ in range(3):
        tasks.notify_breach.delay(breach.pk)
    wait_until(lambda: is_sent(breach), what="the breach email")
    celery_worker.wait_idle()
    emails = read_emails(celery_worker.email_dir)
    assert [(e.to, e.subject) for e in emails] == [
        ("ops-oncall@example.com", "Guardrail broken: Copilot for tickets")
    ]
    assert GuardrailBreach.objects.get(pk=breach.pk).notify_attempts == 1


def test_the_sweep_sends_the_email_of_a_breach_whose_worker_died_while_sending(celery_worker):
    # As a worker killed between its claim and 'sent' leaves it.
    breach = make_breach(
        notify_status="sending",
        notify_started_at=timezone.now() - datetime.timedelta(minutes=11),
        notify_attempts=1,
    )
    tasks.sweep_stuck_breach_notifications.delay()
    tasks.sweep_stuck_breach_notifications.delay()
    wait_until(lambda: is_sent(breach), what="the swept breach email")
    celery_worker.wait_idle()
    assert len(read_emails(celery_worker.email_dir)) == 1
    assert GuardrailBreach.objects.get(pk=breach.pk).notify_attempts == 2
