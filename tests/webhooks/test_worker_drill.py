"""Drill: a worker killed in the middle of a webhook call (real worker, Redis, PostgreSQL).

Eight pilots are paused one after the other; the worker sends each stage change to a receiver
on 127.0.0.1. The receiver holds the fourth call without answering, and the worker is
SIGKILLed right there: the request reached the receiver, the delivery is still "sending".
Restarted, the worker sends the rest; the sweep, once a stuck call has outlived any call,
queues the killed delivery again (webhooks are at least once) and it is sent.

The contract, checked here: every idempotency key reaches the receiver at least once; a key
reaches it a second time only when the worker died during its call (here: exactly the held
one, exactly twice); no other key is ever sent twice. Receivers dedupe on X-AIOps-Delivery.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core import followups, outbox
from core.models import Delivery as OutboxDelivery
from pilots import lifecycle
from tests.factories import OpsUserFactory, PilotFactory
from tests.waiting import wait_until
from webhooks import endpoints
from webhooks.models import Attempt, Delivery

PILOTS = 8
HOLD = 4

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def webhooks(**filters) -> int:
    return OutboxDelivery.objects.filter(kind="webhook", **filters).count()


@pytest.mark.worker_concurrency(1)
@pytest.mark.worker_env(
    WEBHOOK_ALLOW_PRIVATE_HOSTS="true",
    WEBHOOK_TIMEOUT="60",
    # The restarted worker takes back the killed one's unacknowledged task within seconds.
    CELERY_VISIBILITY_TIMEOUT="4",
    CELERY_UNACKED_RESTORE_INTERVAL="1",
    CELERY_UNACKED_RESTORE_THROTTLE="1",
)
def test_a_worker_killed_mid_call_sends_that_one_again_and_nothing_else_twice(
    celery_worker, receiver, private_hosts
):
    ops = OpsUserFactory(username="ops-drill")
    registered = endpoints.register(
        actor=ops, name="Drill", url=receiver.url, events=["pilot.stage_changed"]
    )
    receiver.secret = registered.secret
    receiver.hold_at = HOLD
    pilots = [PilotFactory(stage="sandbox", title=f"Pilot {i}") for i in range(PILOTS)]
    changes = [
        lifecycle.move(
            pilot.pk,
            lifecycle.Action.PAUSE,
            actor=ops,
            expected_stage="sandbox",
            rationale="Vendor incident.",
        )
        for pilot in pilots
    ]
    expected = {f"pilot.stage_changed/stage_change:{c.pk}" for c in changes}
    wait_until(
        lambda: receiver.held.is_set() and webhooks(status="sending") == 1,
        what="the receiver holding the fourth call",
    )
    celery_worker.kill()
    receiver.release()
    [stuck] = OutboxDelivery.objects.filter(kind="webhook", status="sending")
    held_key = Delivery.objects.get(outbox=stuck).idempotency_key
    assert receiver.keys().count(held_key) == 1
    assert webhooks(status="sent") == HOLD - 1

    celery_worker.start()
    wait_until(
        lambda: webhooks() == PILOTS and webhooks(status="sent") == PILOTS - 1,
        timeout=120,
        what="the other calls sent",
    )
    celery_worker.wait_idle()
    assert webhooks(status="sending") == 1

    # Beat's sweep, once the stuck call has outlived any call (the worker is another process:
    # no clock to travel, so the claim is made older).
    OutboxDelivery.objects.filter(pk=stuck.pk).update(
        claimed_at=F("claimed_at") - datetime.timedelta(minutes=settings.OUTBOX_STUCK_MINUTES + 1)
    )
    assert outbox.sweep()["requeued"] == 1
    followups.sweep(now=timezone.now() + datetime.timedelta(minutes=16))
    wait_until(lambda: webhooks(status="sent") == PILOTS, what="the swept call sent")
    celery_worker.wait_idle()

    seen = Counter(receiver.keys())
    assert set(seen) == expected
    assert seen[held_key] == 2
    assert all(count == 1 for key, count in seen.items() if key != held_key)
    assert all(r.signed for r in receiver.received)
    # The same body both times: the receiver can tell it is a repeat by its key alone.
    bodies = {r.body for r in receiver.received if r.key == held_key}
    assert len(bodies) == 1
    # The killed call left no attempt (its outcome was never known); the second one did.
    held = Delivery.objects.get(outbox=stuck)
    assert list(Attempt.objects.filter(delivery=held).values_list("status_code", flat=True)) == [
        200
    ]
