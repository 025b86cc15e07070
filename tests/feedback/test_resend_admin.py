"""Ops find invitations whose delivery failed in the prompt admin and may re-send them."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from feedback import scheduling
from feedback.models import Prompt
from tests.factories import FeedbackRoundFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:feedback_prompt_changelist"


def swept_prompt(**kwargs) -> Prompt:
    """A prompt whose worker died mid-send, marked failed by the sweep."""
    prompt = PromptFactory(
        send_status="sending",
        send_started_at=timezone.now() - datetime.timedelta(hours=1),
        **kwargs,
    )
    scheduling.sweep_stuck_prompts()
    prompt.refresh_from_db()
    return prompt


def resend(client, *prompts):
    return client.post(
        reverse(CHANGELIST),
        {"action": "resend_invitation", "_selected_action": [p.pk for p in prompts]},
        follow=True,
    )


def test_ops_see_prompts_the_sweep_gave_up_on_under_failed(client, ops):
    swept = swept_prompt(participant=UserFactory(username="swept-person"))
    PromptFactory(participant=UserFactory(username="fine-person"))
    client.force_login(ops)
    page = client.get(reverse(CHANGELIST), {"send_status__exact": "failed"}).content.decode()
    assert swept.send_status == "failed"
    assert "swept-person" in page
    assert "fine-person" not in page


def test_ops_resend_a_failed_invitation_from_the_prompt_admin(
    client, ops, django_capture_on_commit_callbacks
):
    prompt = swept_prompt()
    client.force_login(ops)
    with django_capture_on_commit_callbacks() as callbacks:
        response = resend(client, prompt)
    assert "1 invitation queued again" in response.content.decode()
    assert Prompt.objects.get(pk=prompt.pk).send_status == "queued"
    assert len(callbacks) == 1


def test_the_resend_action_refuses_without_saying_who_answered(client, ops):
    round_ = FeedbackRoundFactory()
    answered = swept_prompt(round=round_, participant=UserFactory(username="answered-person"))
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    failed = swept_prompt(round=round_)
    client.force_login(ops)
    page = resend(client, answered, failed).content.decode()
    assert "1 invitation queued again" in page
    assert "1 invitation not re-sent" in page
    assert "answered-person" not in page.split("messagelist")[1].split("</ul>")[0]
    assert Prompt.objects.get(pk=answered.pk).send_status == "failed"
    assert Prompt.objects.get(pk=failed.pk).send_status == "queued"


def test_only_staff_allowed_to_change_prompts_get_the_resend_action(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_prompt"))
    prompt = swept_prompt()
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "resend_invitation" not in page
    resend(client, prompt)
    assert Prompt.objects.get(pk=prompt.pk).send_status == "failed"


def test_the_prompt_admin_never_shows_who_was_reminded(client, ops):
    # A reminder goes only to people who had not answered by halfway through the window.
    reminded = PromptFactory(
        participant=UserFactory(username="person-a"),
        send_status="sent",
        reminder_status="sent",
        reminded_at=timezone.now(),
    )
    not_reminded = PromptFactory(
        round=reminded.round, participant=UserFactory(username="person-b"), send_status="sent"
    )
    client.force_login(ops)
    for prompt in (reminded, not_reminded):
        page = client.get(reverse("admin:feedback_prompt_change", args=[prompt.pk]))
        assert page.status_code == 200
        assert "remind" not in page.content.decode().lower()
    changelist = client.get(reverse(CHANGELIST)).content.decode()
    assert "reminder_status" not in changelist
    assert "reminder__exact" not in changelist


def test_ops_find_failed_reminders_to_resend_them(client, ops):
    failed = PromptFactory(
        participant=UserFactory(username="failed-reminder"),
        send_status="sent",
        reminder_status="failed",
    )
    PromptFactory(round=failed.round, participant=UserFactory(username="fine"), send_status="sent")
    client.force_login(ops)
    page = client.get(reverse(CHANGELIST), {"reminder": "failed"}).content.decode()
    assert "failed-reminder" in page
    assert ">fine<" not in page
