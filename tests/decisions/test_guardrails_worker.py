"""Guardrails through a real Celery worker, Redis and PostgreSQL: close → breach → pause."""

import pytest
from django.db import transaction

from core import followups
from core.models import FollowUp
from core.tasks import run_followup
from feedback import tasks as feedback_tasks
from pilots.models import GuardrailBreach, Pilot, StageChange
from tests.decisions.evidence_support import add_round, scores
from tests.factories import (
    GuardrailFactory,
    MetricGuardrailFactory,
    OpsUserFactory,
    PilotFactory,
    PromptFactory,
)
from tests.feedback.email_files import read_emails
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
    # And the evaluation's own task a third time, as a redelivered message would.
    wait_until(lambda: FollowUp.objects.filter(kind="round_closed").exists(), what="the close")
    run_followup.delay(FollowUp.objects.get(kind="round_closed").pk)
    wait_until(lambda: Pilot.objects.get(pk=pilot.pk).stage == "paused", what="the pause")
    celery_worker.wait_idle()
    breach = GuardrailBreach.objects.get()
    change = StageChange.objects.get(pilot=pilot)
    assert (change.actor, change.rationale) == (None, breach.detail)
    # The Ops alert, once; the lead and participants are told through notifications.
    emails = [e for e in read_emails(celery_worker.email_dir) if not e.is_notification]
    assert [e.to for e in emails] == ["ops-oncall@example.com"]


def test_an_exposure_reported_twice_at_once_is_one_breach_and_one_email(celery_worker):
    OpsUserFactory(username="ops-oncall")
    pilot = PilotFactory(stage="sandbox")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="pause")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    # Three reports at once: their follow-ups coalesce, and the task runs three times.
    with transaction.atomic():
        followup = followups.request(
            "exposure_reported", key=f"round:{r.pk}", payload={"round_id": r.pk}
        )
    for _ in range(2):
        run_followup.delay(followup.pk)
    wait_until(lambda: GuardrailBreach.objects.exists(), what="the breach")
    celery_worker.wait_idle()
    assert GuardrailBreach.objects.count() == 1
    assert Pilot.objects.get(pk=pilot.pk).stage == "paused"
    assert len([e for e in read_emails(celery_worker.email_dir) if not e.is_notification]) == 1
