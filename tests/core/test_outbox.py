"""The outbox: one row per message, claimed once, retried or given up by its kind's semantics."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import outbox
from core.models import Delivery

pytestmark = pytest.mark.django_db

FAILED_HOOK: list[int] = []


@pytest.fixture(autouse=True)
def kinds():
    FAILED_HOOK.clear()

    def build(delivery):
        if delivery.payload.get("obsolete"):
            return None
        return outbox.Email(subject=f"Hello {delivery.payload['n']}", body="Body")

    outbox.register(
        outbox.Kind(
            "test.once",
            outbox.AT_MOST_ONCE,
            build,
            max_attempts=3,
            on_failed=lambda d, lost: FAILED_HOOK.append((d.pk, lost)),
        )
    )
    outbox.register(outbox.Kind("test.alert", outbox.AT_LEAST_ONCE, build, max_attempts=5))
    yield
    outbox._kinds.pop("test.once", None)
    outbox._kinds.pop("test.alert", None)


def enqueue(kind="test.once", n=1, **payload) -> Delivery:
    return outbox.enqueue(
        kind,
        recipient=f"p{n}@example.com",
        dedupe_key=f"{kind}:{n}",
        payload={"n": n, **payload},
        send_after_commit=False,
    )


class Refusing:
    """A mail connection whose server refuses every message (the send raises)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


def test_a_delivery_is_sent_once_even_when_asked_twice():
    delivery = enqueue()
    assert outbox.deliver([delivery.pk]).sent == 1
    assert outbox.deliver([delivery.pk]).skipped == 1
    assert [m.subject for m in mail.outbox] == ["Hello 1"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1) and delivery.sent_at


def test_enqueuing_the_same_message_twice_makes_one_delivery():
    assert enqueue() is not None
    assert enqueue() is None
    assert Delivery.objects.count() == 1


def test_a_message_no_longer_needed_is_cancelled_not_sent():
    delivery = enqueue(obsolete=True)
    assert outbox.deliver([delivery.pk]).cancelled == 1
    assert Delivery.objects.get(pk=delivery.pk).status == "cancelled" and not mail.outbox


def test_a_refused_send_is_retried_with_backoff_then_failed_and_the_kind_told():
    delivery = enqueue()
    report = outbox.deliver([delivery.pk], connection=Refusing())
    assert report.retrying == 1
    delivery.refresh_from_db()
    assert delivery.status == "queued" and delivery.next_attempt_at > timezone.now()
    assert "smtp down" in delivery.last_error
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        report = outbox.deliver([delivery.pk], connection=Refusing())
    assert report.failed == 1
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"
    assert [(delivery.pk, False)] == FAILED_HOOK  # it did not go out


def test_a_delivery_not_due_yet_is_left_alone():
    delivery = enqueue()
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert outbox.deliver([delivery.pk]).skipped == 1 and not mail.outbox


def _stuck(kind: str, n: int) -> Delivery:
    delivery = enqueue(kind, n)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", attempts=1, claimed_at=timezone.now() - datetime.timedelta(hours=1)
    )
    return delivery


def test_the_sweep_gives_up_an_at_most_once_delivery_whose_worker_died_and_retries_an_alert(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(outbox, "_enqueue_task", lambda *a: enqueued.append(a))
    invitation = _stuck("test.once", 1)
    alert = _stuck("test.alert", 2)
    with django_capture_on_commit_callbacks(execute=True):
        result = outbox.sweep()
    assert (result["failed"], result["requeued"]) == (1, 1)
    assert Delivery.objects.get(pk=invitation.pk).status == "failed"  # maybe delivered: never again
    assert [(invitation.pk, True)] == FAILED_HOOK  # lost: it may have gone out
    assert Delivery.objects.get(pk=alert.pk).status == "queued"  # at least once: sent again
    assert ("test.alert", "", [alert.pk]) in enqueued


def test_a_worker_that_delivers_after_the_sweep_gave_up_still_records_the_send(monkeypatch):
    """A slow mail server: the sweep marked it failed meanwhile; the send did happen."""
    delivery = enqueue()
    real_build = outbox.kind_of(delivery).build

    def slow_build(d):
        Delivery.objects.filter(pk=d.pk).update(status="failed")  # the sweep, meanwhile
        return real_build(d)

    monkeypatch.setattr(
        outbox, "kind_of", lambda d: outbox.Kind("x", outbox.AT_MOST_ONCE, slow_build)
    )
    outbox.deliver([delivery.pk])
    assert Delivery.objects.get(pk=delivery.pk).status == "sent"


def test_the_database_refuses_a_sent_delivery_without_its_time():
    delivery = enqueue()
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(status="sent")


def test_an_unknown_kind_is_refused_when_enqueued():
    with pytest.raises(LookupError):
        outbox.enqueue("nobody.sends.this", recipient="x@example.com", dedupe_key="k")


def test_a_delivery_that_cannot_go_now_waits_without_using_an_attempt():
    def build(d):
        raise outbox.Postpone(300)

    outbox.register(outbox.Kind("test.later", outbox.AT_MOST_ONCE, build, max_attempts=1))
    try:
        delivery = enqueue("test.later")
        assert outbox.deliver([delivery.pk]).postponed == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("queued", 0)
        assert delivery.next_attempt_at > timezone.now() + datetime.timedelta(seconds=290)
    finally:
        outbox._kinds.pop("test.later", None)
