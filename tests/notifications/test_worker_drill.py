"""Drill: a worker killed in the middle of sending notifications (real worker, Redis, PostgreSQL).

Twelve pilots are paused one after the other; the worker tells each lead. The mail server
hangs before the sixth email and the worker is SIGKILLed right there, its delivery claimed
("sending") and not sent. Restarted, the worker sends what is still queued; the sweep, once a
stuck send has outlived any send, queues the killed delivery again (notifications are at least
once). Every lead gets their notification, and none gets it twice.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core import followups, outbox
from core.models import Delivery
from notifications import notify
from pilots import lifecycle
from tests.factories import OpsUserFactory, PilotFactory, UserFactory
from tests.feedback.email_files import read_emails
from tests.feedback.slow_email import HANG_MARKER
from tests.waiting import wait_until

SLOW = "tests.feedback.slow_email.SlowFileBackend"
LEADS = 12
HANG_BEFORE = 6

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def notifications(**filters) -> int:
    return Delivery.objects.filter(kind=notify.NOTIFICATION, **filters).count()


@pytest.mark.worker_concurrency(1)
@pytest.mark.worker_env(
    EMAIL_BACKEND=SLOW,
    SLOW_EMAIL_SECONDS="0.01",
    SLOW_EMAIL_HANG_BEFORE=str(HANG_BEFORE),
    # The restarted worker takes back the killed one's unacknowledged task within seconds.
    CELERY_VISIBILITY_TIMEOUT="4",
    CELERY_UNACKED_RESTORE_INTERVAL="1",
    CELERY_UNACKED_RESTORE_THROTTLE="1",
)
def test_a_worker_killed_mid_delivery_leaves_every_lead_told_once(celery_worker):
    ops = OpsUserFactory(username="ops-drill")
    leads = [UserFactory(username=f"lead{i}") for i in range(LEADS)]
    pilots = [
        PilotFactory(stage="sandbox", lead=lead, title=f"Pilot {i}") for i, lead in enumerate(leads)
    ]
    for pilot in pilots:
        # Each move commits on its own and asks, after commit, for its lead to be told.
        lifecycle.move(
            pilot.pk,
            lifecycle.Action.PAUSE,
            actor=ops,
            expected_stage="sandbox",
            rationale="Vendor incident.",
        )
    wait_until(
        lambda: (
            (celery_worker.email_dir / HANG_MARKER).exists()
            and notifications(status="sending") == 1
            and len(read_emails(celery_worker.email_dir)) == HANG_BEFORE - 1
        ),
        what="the worker hanging before the sixth notification",
    )
    celery_worker.kill()
    [stuck] = Delivery.objects.filter(kind=notify.NOTIFICATION, status="sending")
    assert stuck.recipient not in {e.to for e in read_emails(celery_worker.email_dir)}
    assert notifications(status="sent") == HANG_BEFORE - 1

    celery_worker.start()
    wait_until(
        lambda: notifications() == LEADS and notifications(status="queued") == 0,
        timeout=120,
        what="the rest of the notifications sent",
    )
    celery_worker.wait_idle()
    assert (notifications(status="sent"), notifications(status="sending")) == (LEADS - 1, 1)

    # Beat's sweeps, once a stuck send has outlived any send: the killed delivery goes back
    # to the queue (at least once) and is sent; nothing else is sent again.
    # Time passes for the stuck delivery (the worker is another process: no clock to travel).
    Delivery.objects.filter(pk=stuck.pk).update(
        claimed_at=F("claimed_at") - datetime.timedelta(minutes=settings.OUTBOX_STUCK_MINUTES + 1)
    )
    assert outbox.sweep()["requeued"] == 1
    followups.sweep(now=timezone.now() + datetime.timedelta(minutes=16))
    wait_until(lambda: notifications(status="sent") == LEADS, what="the swept notification")
    celery_worker.wait_idle()

    sent = read_emails(celery_worker.email_dir)
    per_lead = Counter(e.to for e in sent)
    assert per_lead == {lead.email: 1 for lead in leads}
    assert {e.subject for e in sent} == {
        f"Pilot {i} was paused (now: Paused)" for i in range(LEADS)
    }
    assert Delivery.objects.get(pk=stuck.pk).attempts == 2
