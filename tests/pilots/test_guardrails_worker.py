"""Guardrails through a real Celery worker, Redis and PostgreSQL: close → breach → pause."""

import pytest

from feedback import tasks as feedback_tasks
from pilots import tasks
from pilots.models import GuardrailBreach, Pilot, StageChange
from tests.factories import (
    GuardrailFactory,
    MetricGuardrailFactory,
    OpsUserFactory,
    PilotFactory,
    PromptFactory,
)
from tests.feedback.email_files import read_emails
from tests.pilots.evidence_support import add_round, scores
from tests.waiting import wait_until

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_closing_a_round_twice_through_the_worker_breaches_pauses_and_emails_once(celery_worker):
    OpsUserFactory(username="ops-oncall")
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action="pause")
    r = add_round(pilot, scores("trust", [1, 2, 2, 1, 2, 2]), closed=False)
    for _ in range(6):  # close_round counts the invited from the prompts
        PromptFactory(round=r, answered=True)
    feedback_tasks.close_round.delay(r.pk)
    feedback_tasks.close_round.delay(r.pk)
    tasks.evaluate_round_guardrails.delay(r.pk)
    wait_until(lambda: Pilot.objects.get(pk=pilot.pk).stage == "paused", what="the pause")
    celery_worker.wait_idle()
    breach = GuardrailBreach.objects.get()
    change = StageChange.objects.get(pilot=pilot)
    assert (change.actor, change.rationale) == (None, breach.detail)
    emails = read_emails(celery_worker.email_dir)
    assert [e.to for e in emails] == ["ops-oncall@example.com"]


def test_an_exposure_reported_twice_at_once_is_one_breach_and_one_email(celery_worker):
    OpsUserFactory(username="ops-oncall")
    pilot = PilotFactory(stage="sandbox")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="pause")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    for _ in range(3):
        tasks.record_exposure_incident.delay(r.pk)
    wait_until(lambda: GuardrailBreach.objects.exists(), what="the breach")
    celery_worker.wait_idle()
    assert GuardrailBreach.objects.count() == 1
    assert Pilot.objects.get(pk=pilot.pk).stage == "paused"
    assert len(read_emails(celery_worker.email_dir)) == 1
