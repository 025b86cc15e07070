"""`manage.py rounds open|remind|close --as USERNAME`: the beat's functions, from the shell."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from feedback import scheduling
from feedback.models import FeedbackRound, Prompt
from tests.factories import (
    OpsUserFactory,
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    pulse_questionnaire,
)
from tests.followups_support import requested

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _wednesday(time_machine) -> None:
    time_machine.move_to(WEDNESDAY, tick=False)


def make_pilot(participants: int = 2, **kwargs):
    pulse_questionnaire()
    kwargs = {"stage": "pilot", "cadence": "weekly", "cadence_weekday": 0, **kwargs}
    pilot = PilotFactory(team=TeamFactory(timezone="Europe/Paris"), **kwargs)
    for _ in range(participants):
        ParticipationFactory(pilot=pilot)
    return pilot


def rounds(*args: str) -> str:
    out = io.StringIO()
    call_command("rounds", *args, stdout=out)
    return out.getvalue()


def test_rounds_open_opens_the_current_round_and_a_second_run_is_refused(ops, caplog):
    pilot = make_pilot(title="Reply drafts")
    caplog.set_level("INFO", logger="feedback.scheduling")
    out = rounds("open", "--pilot", str(pilot.pk), "--as", "ops")
    round_ = pilot.rounds.get()
    assert out == (
        f"“Reply drafts” (pilot {pilot.pk}): round {round_.pk} opened for the period that began"
        " on Nov. 23, 2026; 2 invitations queued.\n"
    )
    assert f"Feedback round(s) {round_.pk} opened now by user {ops.pk}." in caplog.messages
    with pytest.raises(CommandError) as refused:
        rounds("open", "--pilot", str(pilot.pk), "--as", "ops")
    assert str(refused.value) == (
        f"“Reply drafts” (pilot {pilot.pk}): The round of the period that began on"
        " Nov. 23, 2026 is already open."
    )
    assert refused.value.returncode == 1
    assert FeedbackRound.objects.count() == 1
    assert Prompt.objects.count() == 2


def test_rounds_open_names_each_pilot_refused_and_opens_the_others(ops):
    running = make_pilot(title="Running")
    draft = make_pilot(title="Still a draft", stage="draft")
    with pytest.raises(CommandError) as refused:
        rounds("open", "--pilot", str(running.pk), "--pilot", str(draft.pk), "--as", "ops")
    assert str(refused.value) == (
        f"“Still a draft” (pilot {draft.pk}): The pilot is Draft: only sandbox, pilot and"
        " approved pilots get rounds."
    )
    assert running.rounds.count() == 1
    with pytest.raises(CommandError, match=r"^Pilot 987654: No pilot has the id 987654\.$"):
        rounds("open", "--pilot", "987654", "--as", "ops")


def test_rounds_remind_sends_the_reminders_now_and_a_second_run_is_refused(
    ops, celery_eager, django_capture_on_commit_callbacks
):
    make_pilot(participants=2)
    with django_capture_on_commit_callbacks(execute=True):
        [round_id] = scheduling.open_due_rounds()
    assert len(mail.outbox) == 2
    mail.outbox.clear()
    # The test runs in a transaction: its commit is where the send task is enqueued (eagerly).
    with django_capture_on_commit_callbacks(execute=True):
        out = rounds("remind", "--round", str(round_id), "--as", "ops")
    assert out == f"Round {round_id}: 2 reminders queued; they go out now with new links.\n"
    assert len(mail.outbox) == 2
    with pytest.raises(CommandError, match="No reminder to send"):
        rounds("remind", "--round", str(round_id), "--as", "ops")
    assert len(mail.outbox) == 2


def test_rounds_close_closes_now_and_a_second_run_is_refused(
    ops, monkeypatch, django_capture_on_commit_callbacks
):
    make_pilot(participants=2)
    [round_id] = scheduling.open_due_rounds()
    with django_capture_on_commit_callbacks(execute=True):
        out = rounds("close", "--round", str(round_id), "--as", "ops")
    assert out == (
        f"Round {round_id} closed: 0 of 2 answered. Its guardrails are being evaluated.\n"
    )
    assert FeedbackRound.objects.get(pk=round_id).status == "closed"
    assert requested("round_closed") == [round_id]
    with pytest.raises(CommandError, match=r"^This round is already closed\.$"):
        rounds("close", "--round", str(round_id), "--as", "ops")
    assert requested("round_closed") == [round_id]


def test_rounds_refuses_anyone_but_an_active_ops_user(lead):
    pilot = make_pilot()
    [round_id] = scheduling.open_due_rounds()
    OpsUserFactory(username="former", is_active=False)
    with pytest.raises(CommandError, match=r"^Only Ops can close a feedback round\.$"):
        rounds("close", "--round", str(round_id), "--as", "lead")
    with pytest.raises(CommandError, match=r"^Only Ops can open a feedback round\.$"):
        rounds("open", "--pilot", str(pilot.pk), "--as", "former")
    with pytest.raises(CommandError, match=r"^No user is named “nobody”\.$"):
        rounds("remind", "--round", str(round_id), "--as", "nobody")
    assert FeedbackRound.objects.get(pk=round_id).status == "open"


def test_rounds_requires_the_acting_user_to_be_named(ops):
    with pytest.raises(CommandError, match="--as"):
        rounds("close", "--round", "1")
