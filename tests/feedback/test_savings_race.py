"""Drill: two rounds of one pilot closing at once (PostgreSQL, real transactions, threads).

Each close rewrites the pilot's pooled minutes saved (feedback.savings) in its own transaction.
Without the pilot's lock, the second close pools before the first commits and its row, written
last, forgets the first round: the portfolio would count one round's minutes of two.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from feedback import savings
from feedback.models import FeedbackRound, PilotMinutesSaved
from feedback.scheduling import close_round
from tests.decisions.evidence_support import add_round, scores
from tests.factories import PilotFactory, PromptFactory
from tests.waiting import backends_waiting_for_a_lock, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 20.0


def test_two_rounds_of_a_pilot_closing_at_once_are_both_pooled(postgres, settings, monkeypatch):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    first = add_round(pilot, scores(savings.MINUTES_KEY, [10, 20, 30]), weeks_ago=2, closed=False)
    second = add_round(
        pilot, scores(savings.MINUTES_KEY, [40, 50, 60, 70]), weeks_ago=1, closed=False
    )
    for round_, answered in ((first, 3), (second, 4)):
        for _ in range(answered):  # close_round counts the invited from the prompts
            PromptFactory(round=round_, answered=True)
    assert FeedbackRound.objects.filter(pilot=pilot, status="open").count() == 2

    # The first close stops after its pooled row is written, its transaction still open.
    written, release = threading.Event(), threading.Event()
    store = savings.store

    def store_then_hold(pilot_ids):
        count = store(pilot_ids)
        if threading.current_thread().name == "close-first":
            written.set()
            assert release.wait(DEADLINE)
        return count

    monkeypatch.setattr(savings, "store", store_then_hold)
    errors: list[BaseException] = []

    def close(round_id: int) -> None:
        try:
            close_round(round_id)
        except BaseException as e:  # reported by the test below
            errors.append(e)
        finally:
            connections.close_all()

    one = threading.Thread(target=close, args=(first.pk,), name="close-first")
    one.start()
    assert written.wait(DEADLINE), errors
    two = threading.Thread(target=close, args=(second.pk,), name="close-second")
    two.start()
    # The second close waits for the first's commit (the pilot's lock) rather than pooling
    # without it.
    wait_until(lambda: backends_waiting_for_a_lock() >= 1, what="the second close to wait")
    release.set()
    for thread in (one, two):
        thread.join(DEADLINE)
        assert not thread.is_alive()
    assert errors == []

    row = PilotMinutesSaved.objects.get(pilot=pilot)
    assert FeedbackRound.objects.filter(pilot=pilot, status="closed").count() == 2
    assert row.n == 7
    assert row.mean == pytest.approx(40.0)
