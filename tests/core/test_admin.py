"""The spine in the admin: Ops read the log, the follow-ups and the outbox, and retry failures."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core import followups, outbox
from core.models import ChangeRecord, Delivery, FollowUp
from decisions import guardrails
from feedback import invitations
from tests.factories import PromptFactory, UserFactory

pytestmark = pytest.mark.django_db

OUTBOX = "admin:core_delivery_changelist"
FOLLOWUPS = "admin:core_followup_changelist"


def delivery(kind: str, status: str = "queued", recipient: str = "x@example.com", **fields):
    prompt = fields.pop("prompt", None)
    extra = {}
    if status == "sent":
        extra["sent_at"] = timezone.now()
    return Delivery.objects.create(
        kind=kind,
        recipient=recipient,
        dedupe_key=f"{kind}:{recipient}:{Delivery.objects.count()}",
        payload={"prompt_id": prompt.pk} if prompt else {},
        status=status,
        **extra,
        **fields,
    )


def action(client, url: str, name: str, *rows):
    return client.post(
        reverse(url), {"action": name, "_selected_action": [r.pk for r in rows]}, follow=True
    )


def test_ops_see_the_outbox_but_no_participant_email_unless_it_failed(client, ops):
    prompt = PromptFactory()
    delivery(guardrails.ALERT_KIND.name, "sent", "ops-alert@example.com")
    delivery(invitations.REMINDER, "sent", "reminded-person@example.com", prompt=prompt)
    delivery(invitations.INVITATION, "queued", "invited-person@example.com", prompt=prompt)
    delivery(invitations.INVITATION, "failed", "bounced-person@example.com", prompt=prompt)
    client.force_login(ops)
    page = client.get(reverse(OUTBOX))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ops-alert@example.com" in html
    assert "bounced-person@example.com" in html
    # Whom a reminder went to tells who had not answered by halfway through the window.
    assert "reminded-person@example.com" not in html
    assert "invited-person@example.com" not in html
    for hidden in Delivery.objects.filter(status__in=["sent", "queued"]).exclude(
        kind=guardrails.ALERT_KIND.name
    ):
        detail = client.get(reverse("admin:core_delivery_change", args=[hidden.pk]))
        assert detail.status_code == 302  # "does not exist": redirected to the admin index
    # Filtering by kind does not bring them back either.
    filtered = client.get(reverse(OUTBOX), {"kind": invitations.REMINDER}).content.decode()
    assert "reminded-person@example.com" not in filtered


def test_ops_send_a_failed_alert_again_and_never_a_participant_email(
    client, ops, django_capture_on_commit_callbacks
):
    prompt = PromptFactory()
    alert = delivery(
        guardrails.ALERT_KIND.name, "failed", "ops-alert@example.com", attempts=5, last_error="x"
    )
    invitation = delivery(invitations.INVITATION, "failed", prompt=prompt)
    client.force_login(ops)
    with django_capture_on_commit_callbacks() as callbacks:
        page = action(client, OUTBOX, "send_again", alert, invitation).content.decode()
    assert "1 email queued again; 1 of the selection left as it was" in page
    alert.refresh_from_db()
    invitation.refresh_from_db()
    assert (alert.status, alert.attempts, alert.last_error) == ("queued", 0, "")
    assert invitation.status == "failed"
    assert len(callbacks) == 1


def test_a_failed_email_sent_again_goes_out_once():
    kind = outbox.Kind(
        "test.notice",
        outbox.AT_LEAST_ONCE,
        lambda d: outbox.Email(subject="Notice", body="The mail server is back."),
    )
    outbox.register(kind)
    try:
        notice = delivery("test.notice", "failed", "ops-alert@example.com", attempts=3)
        assert outbox.retry([notice.pk]) == 1
        assert outbox.retry([notice.pk]) == 0  # queued now: nothing to retry
        assert outbox.deliver_batch("test.notice", "").sent == 1
        assert [m.to for m in mail.outbox] == [["ops-alert@example.com"]]
        assert Delivery.objects.get(pk=notice.pk).status == "sent"
    finally:
        outbox._kinds.pop("test.notice", None)


def test_ops_run_failed_follow_up_work_again(client, ops, django_capture_on_commit_callbacks):
    failed = FollowUp.objects.create(
        kind="round_closed", key="round_id=1", status="failed", attempts=8, last_error="boom"
    )
    done = FollowUp.objects.create(
        kind="round_closed", key="round_id=2", status="done", done_at=timezone.now()
    )
    client.force_login(ops)
    with django_capture_on_commit_callbacks() as callbacks:
        page = action(client, FOLLOWUPS, "run_again", failed, done).content.decode()
    assert "1 follow-up will run again; 1 of the selection left as it was" in page
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert FollowUp.objects.get(pk=done.pk).status == "done"
    assert len(callbacks) == 1


def test_a_failed_follow_up_whose_work_is_pending_again_stays_failed():
    failed = FollowUp.objects.create(
        kind="round_closed", key="round_id=1", status="failed", attempts=8
    )
    FollowUp.objects.create(kind="round_closed", key="round_id=1")  # pending: it does the work
    assert followups.retry([failed.pk]) == 0
    assert FollowUp.objects.get(pk=failed.pk).status == "failed"


def test_the_change_log_is_read_only_in_the_admin(client, ops):
    record = ChangeRecord.objects.create(
        action="pilot.moved",
        actor=ops,
        subject_type_id=1,
        subject_id="1",
        changes={"stage": ["sandbox", "pilot"]},
        reason="evidence",
    )
    client.force_login(ops)
    assert (
        "pilot.moved" in client.get(reverse("admin:core_changerecord_changelist")).content.decode()
    )
    url = reverse("admin:core_changerecord_change", args=[record.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"reason": "rewritten"})
    assert ChangeRecord.objects.get(pk=record.pk).reason == "evidence"
    assert client.get(reverse("admin:core_changerecord_add")).status_code == 403


def test_staff_outside_ops_do_not_see_the_spine(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    for url in (OUTBOX, FOLLOWUPS, "admin:core_changerecord_changelist"):
        assert client.get(reverse(url)).status_code == 403
