"""Breach alerts through a real Celery worker, Redis and PostgreSQL: repeats and the sweep."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from core import tasks
from core.models import Delivery
from decisions import guardrails
from pilots.models import GuardrailBreach
from tests.decisions.evidence_support import add_round, scores
from tests.decisions.test_guardrails_worker import wait_until
from tests.factories import MetricGuardrailFactory, OpsUserFactory, PilotFactory
from tests.feedback.email_files import read_emails

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def make_breach() -> GuardrailBreach:
    OpsUserFactory(username="ops-oncall")
    pilot = PilotFactory(stage="pilot", title="Copilot for tickets")
    MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", [1, 2, 2, 1, 2, 2]))
    [breach] = guardrails.evaluate_round(r.pk)  # committed: the alert is enqueued
    return breach


def alert() -> Delivery:
    return Delivery.objects.get(kind=guardrails.BREACH_ALERT)


def test_three_copies_of_the_delivery_task_at_once_send_one_email(celery_worker):
    make_breach()
    for _ in range(3):
        tasks.deliver_batch.delay(guardrails.BREACH_ALERT, "", [alert().pk])
    wait_until(lambda: alert().status == "sent", what="the alert")
    celery_worker.wait_idle()
    emails = read_emails(celery_worker.email_dir)
    assert [(e.to, e.subject) for e in emails] == [
        ("ops-oncall@example.com", "Guardrail broken: Copilot for tickets")
    ]
    assert alert().attempts == 1


def test_the_sweep_sends_the_alert_of_a_breach_whose_worker_died_while_sending(celery_worker):
    make_breach()
    wait_until(lambda: alert().status == "sent", what="the first alert")
    celery_worker.wait_idle()
    # As a worker killed between its claim and "sent" leaves it (the email may have gone).
    Delivery.objects.filter(pk=alert().pk).update(
        status="sending",
        sent_at=None,
        claimed_at=timezone.now() - datetime.timedelta(minutes=settings.OUTBOX_STUCK_MINUTES + 1),
    )
    tasks.sweep_outbox.delay()
    tasks.sweep_outbox.delay()
    wait_until(lambda: alert().status == "sent", what="the swept alert")
    celery_worker.wait_idle()
    # At least once: sent again, once more only.
    assert len(read_emails(celery_worker.email_dir)) == 2
    assert alert().attempts == 2
