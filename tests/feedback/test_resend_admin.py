"""Ops find invitations whose delivery failed in the prompt admin and may re-send them."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core.models import Delivery
from feedback import invitations
from feedback.models import Prompt
from tests.factories import FeedbackRoundFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:feedback_prompt_changelist"


def email(prompt: Prompt, kind: str = invitations.INVITATION, **fields) -> Delivery:
    """An email of the prompt in the outbox, in the state given."""
    return Delivery.objects.create(
        kind=kind,
        recipient=prompt.participant.email,
        recipient_user=prompt.participant,
        subject_type=ContentType.objects.get_for_model(Prompt),
        subject_id=str(prompt.pk),
        batch=invitations.batch_of(prompt.round_id),
        dedupe_key=f"{kind}:{prompt.pk}:{Delivery.objects.count() + 1}",
        payload={"prompt_id": prompt.pk},
        **fields,
    )


def swept_prompt(**kwargs) -> Prompt:
    """A prompt whose invitation's worker died mid-send, marked failed by the outbox sweep."""
    prompt = PromptFactory(**kwargs)
    email(prompt, status="sending", claimed_at=timezone.now() - datetime.timedelta(hours=1))
    outbox.sweep()
    return prompt


def latest_status(prompt: Prompt) -> str:
    return Delivery.objects.filter(subject_id=str(prompt.pk)).latest("pk").status


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
    page = client.get(reverse(CHANGELIST), {"email": "failed"}).content.decode()
    assert latest_status(swept) == "failed"
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
    assert latest_status(prompt) == "queued"
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
    assert latest_status(answered) == "failed"
    assert latest_status(failed) == "queued"


def test_only_staff_allowed_to_change_prompts_get_the_resend_action(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_prompt"))
    prompt = swept_prompt()
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "resend_invitation" not in page
    resend(client, prompt)
    assert latest_status(prompt) == "failed"


def test_the_prompt_admin_never_shows_who_was_reminded(client, ops):
    # A reminder goes only to people who had not answered by halfway through the window.
    reminded = PromptFactory(participant=UserFactory(username="person-a"))
    not_reminded = PromptFactory(round=reminded.round, participant=UserFactory(username="person-b"))
    for prompt in (reminded, not_reminded):
        email(prompt, status="sent", sent_at=timezone.now())
    email(reminded, invitations.REMINDER, status="sent", sent_at=timezone.now())
    client.force_login(ops)
    for prompt in (reminded, not_reminded):
        page = client.get(reverse("admin:feedback_prompt_change", args=[prompt.pk]))
        assert page.status_code == 200
        assert "remind" not in page.content.decode().lower()
    changelist = client.get(reverse(CHANGELIST)).content.decode()
    assert "reminder_status" not in changelist
    assert "reminder__exact" not in changelist


def test_ops_find_failed_reminders_to_resend_them(client, ops):
    failed = PromptFactory(participant=UserFactory(username="failed-reminder"))
    fine = PromptFactory(round=failed.round, participant=UserFactory(username="fine"))
    for prompt in (failed, fine):
        email(prompt, status="sent", sent_at=timezone.now())
    email(failed, invitations.REMINDER, status="failed")
    client.force_login(ops)
    page = client.get(reverse(CHANGELIST), {"email": "failed"}).content.decode()
    assert "failed-reminder" in page
    assert ">fine<" not in page
