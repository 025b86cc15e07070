"""Drill: Redis dies while rounds close, with tasks queued, and comes back empty.

Measured before the follow-ups were rows: killing Redis with tasks queued lost the guardrail
evaluation of 61 of 200 rounds that had just closed (the evaluation task was enqueued after
commit and nothing ever looked for it again). Now each close writes its follow-up in its own
transaction, and beat's sweep enqueues again what is still pending: every closed round is
evaluated exactly once — one breach, one pause, one alert per Ops recipient — whatever Redis
lost.

A real worker consumes a private redis-server (nothing on disk) that the test SIGKILLs in the
middle of the closes and restarts empty on the same port; beat's ticks are sent as beat would
send them.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter

import pytest
from django.utils import timezone

from core.models import Delivery, FollowUp
from feedback.models import FeedbackRound
from pilots.models import GuardrailBreach, Pilot, StageChange
from tests.decisions.evidence_support import add_round, scores
from tests.factories import MetricGuardrailFactory, OpsUserFactory, PilotFactory, PromptFactory
from tests.feedback.email_files import read_emails
from tests.feedback.test_broker_drill import drill_worker, private_redis  # noqa: F401 fixtures
from tests.waiting import wait_until

ROUNDS = 40

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    # One close at a time, and each alert takes 0.05 s to be accepted: the closes are still
    # going through the queue when Redis is killed.
    pytest.mark.worker_concurrency(1),
    pytest.mark.worker_env(
        EMAIL_BACKEND="tests.feedback.slow_email.SlowFileBackend", SLOW_EMAIL_SECONDS="0.05"
    ),
]


def tick(worker, name: str) -> None:
    """What beat sends: a task by name to the drill's Redis."""
    worker.app.send_task(name)


def a_minute_later() -> None:
    """Let time pass for the sweeps: rows written more than their grace period ago."""
    past = timezone.now() - datetime.timedelta(minutes=30)
    FollowUp.objects.filter(status="pending").update(created_at=past)
    Delivery.objects.filter(status="queued").update(created_at=past)


def closed() -> int:
    return FeedbackRound.objects.closed().count()


def test_rounds_closing_as_redis_dies_are_each_evaluated_exactly_once(
    drill_worker,  # noqa: F811
    private_redis,  # noqa: F811
):
    OpsUserFactory(username="ops-oncall")
    for _ in range(ROUNDS):
        pilot = PilotFactory(stage="pilot")
        MetricGuardrailFactory(pilot=pilot, action="pause")
        round_ = add_round(pilot, scores("trust", [1, 2, 2, 1, 2, 2]), closed=False)
        for _ in range(6):  # close_round counts the invited from the prompts
            PromptFactory(round=round_, answered=True)
    now = timezone.now()
    FeedbackRound.objects.update(
        opens_at=now - datetime.timedelta(days=3), closes_at=now - datetime.timedelta(minutes=1)
    )

    # Beat's tick: the worker enqueues one close per round, and each close its evaluation.
    tick(drill_worker, "feedback.tasks.close_due_rounds")
    wait_until(lambda: closed() >= 5, what="the first rounds closed")
    private_redis.kill()
    assert closed() < ROUNDS, "every round closed before Redis was killed"
    pending = FollowUp.objects.filter(kind="round_closed").exclude(status="done").count()
    private_redis.start()  # empty: every queued close, evaluation and send is gone

    # Beat goes on ticking: due rounds close, the sweeps pick up what Redis lost.
    def settled() -> bool:
        a_minute_later()
        for name in (
            "feedback.tasks.close_due_rounds",
            "core.tasks.sweep_followups",
            "core.tasks.sweep_outbox",
        ):
            tick(drill_worker, name)
        return (
            closed() == ROUNDS
            and not FollowUp.objects.exclude(status="done").exists()
            and not Delivery.objects.exclude(status="sent").exists()
        )

    deadline = time.monotonic() + 120
    while not settled():
        assert time.monotonic() < deadline, drill_worker.log_tail()
        time.sleep(2)
    # One more round of ticks changes nothing: the sweeps find nothing left to do.
    settled()
    drill_worker.wait_idle()

    # Each closed round was evaluated once: one follow-up run once, one breach, one pause.
    evaluations = FollowUp.objects.filter(kind="round_closed")
    assert evaluations.count() == ROUNDS
    assert set(evaluations.values_list("status", "attempts")) == {("done", 1)}
    assert GuardrailBreach.objects.count() == ROUNDS
    assert set(Pilot.objects.values_list("stage", flat=True)) == {"paused"}
    assert StageChange.objects.count() == ROUNDS
    # And Ops were told of each breach once.
    # Ops alerts only: the lead's and participants' notifications are counted by their own drill.
    alerts = Counter(
        e.subject for e in read_emails(drill_worker.email_dir) if not e.is_notification
    )
    assert sum(alerts.values()) == ROUNDS
    assert Delivery.objects.filter(kind="breach_alert", status="sent", attempts=1).count() == (
        ROUNDS
    )
    print(f"{pending} evaluations were pending when Redis was killed")  # for the drill's log
