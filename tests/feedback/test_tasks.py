"""The Celery tasks, run eagerly: thin adapters that take ids and return small JSON."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from aiops_site.celery import app
from core import tasks as core_tasks
from core.models import Delivery
from feedback import scheduling, tasks
from feedback.models import FeedbackRound
from tests.factories import ParticipationFactory, PilotFactory, TeamFactory, pulse_questionnaire

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def pilot():
    pulse_questionnaire()
    pilot = PilotFactory(
        stage="pilot",
        team=TeamFactory(timezone="Europe/Paris"),
        cadence="weekly",
        cadence_weekday=0,
    )
    for _ in range(3):
        ParticipationFactory(pilot=pilot)
    return pilot


def run(task, *args):
    result = task.apply(args=args).get()
    json.dumps(result)  # small JSON: must serialise
    return result


def test_every_beat_entry_names_a_registered_task_with_late_acks():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = app.tasks[entry["task"]]
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


def test_every_periodic_feedback_task_has_the_name_of_the_domain_function_it_calls():
    names = [
        entry["task"].removeprefix("feedback.tasks.")
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("feedback.tasks.")
    ]
    assert "remind" in names
    for name in names:
        assert callable(getattr(scheduling, name, None)), name


def test_the_per_round_and_sending_tasks_ack_late_and_are_rejected_if_their_worker_dies():
    for task in (
        tasks.close_round,
        core_tasks.deliver_batch,
        core_tasks.deliver_batches,
        core_tasks.run_followup,
    ):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_open_task_reports_the_rounds_it_opened_and_a_repeat_opens_none(pilot):
    first = run(tasks.open_due_rounds)
    assert first == {"opened": list(FeedbackRound.objects.values_list("pk", flat=True))}
    assert run(tasks.open_due_rounds) == {"opened": []}


@time_machine.travel(WEDNESDAY, tick=False)
def test_opening_a_round_emails_each_participant_once_through_the_outbox(
    pilot, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [round_id] = run(tasks.open_due_rounds)["opened"]
    assert len(mail.outbox) == 3
    assert set(Delivery.objects.filter(kind="invitation").values_list("status", flat=True)) == {
        "sent"
    }
    report = run(core_tasks.deliver_batch, "invitation", f"round:{round_id}")
    assert report["sent"] == 0
    assert len(mail.outbox) == 3


def test_the_reminder_and_close_tasks_report_rounds_and_repeat_harmlessly(
    pilot, celery_eager, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(WEDNESDAY, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        [round_id] = run(tasks.open_due_rounds)["opened"]
    with time_machine.travel(WEDNESDAY + datetime.timedelta(days=2), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert run(tasks.remind) == {"rounds": [round_id]}
        assert len(mail.outbox) == 6
        with django_capture_on_commit_callbacks(execute=True):
            assert run(tasks.remind) == {"rounds": []}
        assert len(mail.outbox) == 6
    with time_machine.travel(WEDNESDAY + datetime.timedelta(days=3, minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert run(tasks.close_due_rounds) == {"closing": [round_id]}
        assert FeedbackRound.objects.get(pk=round_id).status == "closed"
        assert run(tasks.close_round, round_id) == {"round": round_id, "closed": False}
        assert run(tasks.close_due_rounds) == {"closing": []}


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_outbox_sweep_reports_the_invitations_it_gave_up_on(pilot):
    [round_id] = run(tasks.open_due_rounds)["opened"]
    Delivery.objects.filter(batch=f"round:{round_id}").update(
        status="sending", claimed_at=WEDNESDAY - datetime.timedelta(hours=1)
    )
    result = run(core_tasks.sweep_outbox)
    assert result["failed"] == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
    assert mail.outbox == []


def test_a_task_for_a_round_that_is_gone_does_nothing():
    assert run(tasks.close_round, 987654) == {"round": 987654, "closed": False}
    assert run(core_tasks.deliver_batch, "invitation", "round:987654")["sent"] == 0
