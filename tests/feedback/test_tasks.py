"""The Celery tasks, run eagerly: thin adapters that take ids and return small JSON."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from aiops_site.celery import app
from feedback import scheduling, tasks
from feedback.models import FeedbackRound, Prompt
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


def test_the_per_round_tasks_ack_late_and_are_rejected_if_their_worker_dies():
    for task in (
        tasks.send_prompts,
        tasks.send_reminders,
        tasks.close_round,
        tasks.send_prompts_for_rounds,
    ):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_open_task_reports_the_rounds_it_opened_and_a_repeat_opens_none(pilot):
    first = run(tasks.open_due_rounds)
    assert first == {"opened": list(FeedbackRound.objects.values_list("pk", flat=True))}
    assert run(tasks.open_due_rounds) == {"opened": []}


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_send_task_reports_what_it_sent_and_a_repeat_sends_nothing(pilot):
    [round_id] = run(tasks.open_due_rounds)["opened"]
    assert run(tasks.send_prompts, round_id) == {
        "round": round_id,
        "sent": 3,
        "failed": 0,
        "skipped": 0,
        "remaining": 0,
    }
    assert run(tasks.send_prompts, round_id)["sent"] == 0
    assert len(mail.outbox) == 3


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_dispatch_task_enqueues_one_send_per_round(pilot, celery_eager):
    [round_id] = run(tasks.open_due_rounds)["opened"]
    assert run(tasks.send_prompts_for_rounds, [round_id]) == {"rounds": 1}
    assert Prompt.objects.filter(send_status="sent").count() == 3


def test_the_reminder_and_close_tasks_report_rounds_and_repeat_harmlessly(pilot, monkeypatch):
    with time_machine.travel(WEDNESDAY, tick=False):
        [round_id] = run(tasks.open_due_rounds)["opened"]
        run(tasks.send_prompts, round_id)
    with time_machine.travel(WEDNESDAY + datetime.timedelta(days=2), tick=False):
        assert run(tasks.remind) == {"rounds": [round_id]}
        assert run(tasks.send_reminders, round_id)["sent"] == 3
        assert run(tasks.remind) == {"rounds": []}
    with time_machine.travel(WEDNESDAY + datetime.timedelta(days=3, minutes=1), tick=False):
        assert run(tasks.close_due_rounds) == {"closing": [round_id]}
        assert run(tasks.close_round, round_id) == {"round": round_id, "closed": True}
        assert run(tasks.close_round, round_id) == {"round": round_id, "closed": False}
        assert run(tasks.close_due_rounds) == {"closing": []}


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_sweep_task_reports_the_sends_it_gave_up_on(pilot):
    [round_id] = run(tasks.open_due_rounds)["opened"]
    Prompt.objects.filter(round_id=round_id).update(
        send_status="sending", send_started_at=WEDNESDAY - datetime.timedelta(hours=1)
    )
    result = run(tasks.sweep_stuck_prompts)
    assert result["failed"] == 3
    assert result["prompt_rounds"] == []
    assert set(Prompt.objects.values_list("send_status", flat=True)) == {"failed"}
    assert mail.outbox == []


def test_a_task_for_a_round_that_is_gone_does_nothing():
    assert run(tasks.send_prompts, 987654)["sent"] == 0
    assert run(tasks.close_round, 987654) == {"round": 987654, "closed": False}
