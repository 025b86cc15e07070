"""A key correction racing the first answer: the locks decide (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from core.exceptions import DomainError
from feedback.models import FeedbackRound, Response
from pilots import measures
from tests.factories import (
    FeedbackRoundFactory,
    PilotFactory,
    SuccessMetricFactory,
    pulse_questionnaire,
)
from tests.waiting import backends_waiting_for_a_lock, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_correction_waits_for_an_answer_being_recorded_then_refuses(postgres, ops):
    pulse_questionnaire()
    pilot = PilotFactory(stage="pilot")
    metric = SuccessMetricFactory(pilot=pilot, question_key="qualty")
    feedback_round = FeedbackRoundFactory(pilot=pilot)
    outcome: list = []

    def correct() -> None:
        try:
            outcome.append(
                measures.correct_metric_key(metric.pk, actor=ops, question_key="quality")
            )
        except DomainError as e:
            outcome.append(e)
        finally:
            connections.close_all()

    thread = threading.Thread(target=correct)
    with transaction.atomic():
        # As answering does: lock the round, then record the response.
        FeedbackRound.objects.select_for_update().get(pk=feedback_round.pk)
        Response.objects.create(round=feedback_round)
        thread.start()
        wait_until(lambda: backends_waiting_for_a_lock() >= 1, what="the correction to wait")
    thread.join(10)

    assert not thread.is_alive()
    assert [getattr(o, "code", o) for o in outcome] == ["pilot_has_answers"]
    metric.refresh_from_db()
    assert metric.question_key == "qualty"
