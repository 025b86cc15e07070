"""Ops act on rounds from the admin, through the beat's own functions: open, remind, close now."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from core.models import Delivery
from feedback import scheduling
from feedback.models import FeedbackRound, Prompt
from tests.factories import (
    ParticipationFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.followups_support import requested

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC)
PILOTS = reverse("admin:pilots_pilot_changelist")
ROUNDS = reverse("admin:feedback_feedbackround_changelist")


@pytest.fixture(autouse=True)
def _wednesday(time_machine) -> None:
    time_machine.move_to(WEDNESDAY, tick=False)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def make_pilot(participants: int = 2, **kwargs):
    pulse_questionnaire()
    kwargs = {"stage": "pilot", "cadence": "weekly", "cadence_weekday": 0, **kwargs}
    pilot = PilotFactory(team=TeamFactory(timezone="Europe/Paris"), **kwargs)
    for _ in range(participants):
        ParticipationFactory(pilot=pilot)
    return pilot


def run_action(client, url: str, action: str, *objects, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(url, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_ops_open_the_current_round_of_a_pilot_now_and_the_invitations_go_out(
    ops_client, celery_eager, django_capture_on_commit_callbacks
):
    pilot = make_pilot(participants=2, title="Reply drafts")
    untouched = make_pilot(title="Other pilot")
    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(ops_client, PILOTS, "open_round_now", pilot)
    assert messages_of(done) == [
        "Reply drafts: the round of the period that began on Nov. 23, 2026 is open;"
        " 2 invitations are going out."
    ]
    round_ = pilot.rounds.get()
    assert round_.period_start == datetime.date(2026, 11, 23)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        pilot.participants.values_list("email", flat=True)
    )
    assert not untouched.rounds.exists()

    again = run_action(ops_client, PILOTS, "open_round_now", pilot)
    assert messages_of(again) == [
        "Reply drafts: no round opened. The round of the period that began on Nov. 23, 2026"
        " is already open."
    ]
    assert FeedbackRound.objects.count() == 1
    assert Prompt.objects.count() == 2


def test_opening_now_explains_each_pilot_that_gets_no_round(ops_client):
    running = make_pilot(title="Running")
    paused = make_pilot(title="Halted", stage="paused", paused_from="pilot")
    waiting = make_pilot(
        title="Starts Monday",
        planned_start=datetime.date(2026, 11, 30),
        planned_end=datetime.date(2027, 2, 26),
    )
    done = run_action(ops_client, PILOTS, "open_round_now", running, paused, waiting)
    messages = messages_of(done)
    assert messages[0].startswith("Running: the round of the period")
    assert (
        "Halted: no round opened. The pilot is Paused: only sandbox, pilot and approved pilots"
        " get rounds." in messages
    )
    assert any(
        m.startswith("Starts Monday: no round opened.") and "opens on Nov. 30, 2026" in m
        for m in messages
    )
    assert list(FeedbackRound.objects.values_list("pilot_id", flat=True)) == [running.pk]


def test_opening_now_without_a_default_questionnaire_says_so(ops_client):
    pilot = make_pilot()
    type(pulse_questionnaire()).objects.update(is_default=False)
    done = run_action(ops_client, PILOTS, "open_round_now", pilot)
    assert any("No questionnaire is marked as the current default" in m for m in messages_of(done))
    assert not FeedbackRound.objects.exists()


@pytest.fixture
def staff_not_ops(client):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["pilots", "feedback"])
    )
    client.force_login(user)
    return client


def test_staff_who_are_not_ops_are_offered_no_round_action_and_cannot_post_one(staff_not_ops):
    pilot = make_pilot()
    round_ = scheduling.open_due_rounds()
    for url, names in ((PILOTS, ["open_round_now"]), (ROUNDS, ["remind_now", "close_now"])):
        form = staff_not_ops.get(url).context["action_form"]
        choices = [name for name, _label in form.fields["action"].choices] if form else []
        for name in names:
            assert name not in choices
    run_action(staff_not_ops, ROUNDS, "close_now", *FeedbackRound.objects.all(), confirm="yes")
    assert FeedbackRound.objects.get(pk=round_[0]).status == "open"
    assert pilot.rounds.count() == 1


def sent_round(capture) -> FeedbackRound:
    """A round whose invitations went out (the worker sent its batch after the commit)."""
    with capture(execute=True):
        [round_id] = scheduling.open_due_rounds()
    assert mail.outbox
    mail.outbox.clear()
    return FeedbackRound.objects.get(pk=round_id)


def test_ops_send_a_rounds_reminders_now_and_a_second_time_reminds_nobody(
    ops_client, celery_eager, django_capture_on_commit_callbacks
):
    make_pilot(participants=3, title="Reply drafts")
    round_ = sent_round(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(ops_client, ROUNDS, "remind_now", round_)
    assert messages_of(done) == [f"{round_}: 3 reminders queued; they go out now with new links."]
    assert len(mail.outbox) == 3
    assert set(Delivery.objects.filter(kind="reminder").values_list("status", flat=True)) == {
        "sent"
    }
    assert Delivery.objects.filter(kind="reminder").count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        again = run_action(ops_client, ROUNDS, "remind_now", round_)
    [message] = messages_of(again)
    assert message.startswith(f"{round_}: No reminder to send")
    assert len(mail.outbox) == 3


def test_ops_close_a_round_now_after_confirming_and_a_second_close_is_refused(
    ops_client, monkeypatch, django_capture_on_commit_callbacks
):
    make_pilot(participants=2, title="Reply drafts")
    [round_id] = scheduling.open_due_rounds()
    round_ = FeedbackRound.objects.get(pk=round_id)

    page = run_action(ops_client, ROUNDS, "close_now", round_)
    assert page.templates[0].name == "admin/feedback/feedbackround/close_now.html"
    assert "Closing is final" in page.content.decode()
    round_.refresh_from_db()
    assert round_.status == "open"  # nothing closes before confirmation

    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(ops_client, ROUNDS, "close_now", round_, confirm="yes")
    assert messages_of(done) == [
        f"{round_}: closed, 0 of 2 answered; its guardrails are being evaluated."
    ]
    round_.refresh_from_db()
    assert (round_.status, round_.closed_at, round_.invited_count) == ("closed", WEDNESDAY, 2)
    assert requested("round_closed") == [round_.pk]

    again = run_action(ops_client, ROUNDS, "close_now", round_, confirm="yes")
    assert messages_of(again) == [f"{round_}: This round is already closed."]
    assert requested("round_closed") == [round_.pk]
