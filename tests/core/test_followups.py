"""Follow-up work: a row written with its cause, run after commit, found again by the sweep."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from core import followups
from core.models import FollowUp

pytestmark = pytest.mark.django_db

DONE: list[dict] = []


@pytest.fixture(autouse=True)
def kinds():
    DONE.clear()

    def note(**payload):
        DONE.append(payload)

    def explode(**payload):
        raise RuntimeError("the work failed")

    followups.register("test.note", note)
    followups.register("test.explode", explode)
    yield
    followups._handlers.pop("test.note", None)
    followups._handlers.pop("test.explode", None)


def test_the_work_is_enqueued_only_after_its_cause_commits(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(followups, "_enqueue", enqueued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = followups.request("test.note", key="round:1", payload={"round_id": 1})
    assert enqueued == [] and len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [row.pk]


def test_a_rolled_back_cause_leaves_no_work():
    with pytest.raises(RuntimeError), transaction.atomic():
        followups.request("test.note", key="round:1", payload={})
        raise RuntimeError("the cause failed")
    assert not FollowUp.objects.exists()


def test_the_same_cause_twice_before_its_work_ran_makes_one_piece_of_work():
    first = followups.request("test.note", key="round:1", payload={"round_id": 1})
    second = followups.request("test.note", key="round:1", payload={"round_id": 1})
    assert first.pk == second.pk and FollowUp.objects.count() == 1


def test_running_does_the_work_once_even_when_asked_twice():
    row = followups.request("test.note", key="round:1", payload={"round_id": 1})
    assert followups.run(row.pk) == "done"
    assert followups.run(row.pk) == "skipped"
    assert DONE == [{"round_id": 1}]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("done", 1) and row.done_at is not None


def test_a_failing_handler_is_retried_later_then_failed_for_ops_to_see():
    row = followups.request("test.explode", key="x", payload={})
    assert followups.run(row.pk) == "retry"
    row.refresh_from_db()
    assert row.status == "pending" and row.available_at > timezone.now()
    assert "the work failed" in row.last_error
    for _ in range(followups.MAX_ATTEMPTS - 1):
        FollowUp.objects.filter(pk=row.pk).update(available_at=timezone.now())
        outcome = followups.run(row.pk)
    assert outcome == "failed"
    assert FollowUp.objects.get(pk=row.pk).status == "failed"


def test_the_sweep_finds_work_whose_message_was_lost_and_work_whose_worker_died(
    monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(followups, "_enqueue", enqueued.append)
    now = timezone.now()
    five_minutes_ago = now - datetime.timedelta(minutes=5)
    lost = FollowUp.objects.create(
        kind="test.note", key="lost", created_at=five_minutes_ago, available_at=five_minutes_ago
    )
    fresh = FollowUp.objects.create(kind="test.note", key="fresh", created_at=now, available_at=now)
    dead = FollowUp.objects.create(
        kind="test.note",
        key="dead",
        status="running",
        attempts=1,
        claimed_at=now - datetime.timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = followups.sweep(now=now)
    assert result["requeued"] == 1
    assert set(enqueued) == {lost.pk, dead.pk}
    assert fresh.pk not in enqueued


def test_an_unknown_kind_is_refused_when_requested_not_in_a_worker():
    with pytest.raises(LookupError):
        followups.request("nobody.handles.this", key="1")


def test_the_database_refuses_a_running_follow_up_without_its_start():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.create(kind="test.note", key="x", status="running")


@pytest.fixture
def subscribed():
    followups.register("test.listener", lambda **payload: DONE.append({"heard": payload}))
    followups.subscribe("test.note", "test.listener")
    followups.subscribe("test.cause", "test.listener")
    yield
    followups._subscribers.pop("test.note", None)
    followups._subscribers.pop("test.cause", None)
    followups._handlers.pop("test.listener", None)


def test_a_subscriber_gets_its_own_row_with_the_causes_key_and_payload(subscribed):
    with transaction.atomic():
        own = followups.request("test.note", key="round:7", payload={"round_id": 7})
    listener = FollowUp.objects.get(kind="test.listener")
    assert (listener.key, listener.payload) == ("round:7", {"round_id": 7})
    # Each is run (and retried, and swept) on its own.
    assert followups.run(listener.pk) == "done"
    assert FollowUp.objects.get(pk=own.pk).status == "pending"
    assert DONE == [{"heard": {"round_id": 7}}]


def test_a_cause_announced_twice_before_its_work_ran_makes_one_row_per_subscriber(subscribed):
    for _ in range(2):
        with transaction.atomic():
            followups.announce("test.cause", key="change:3", payload={"id": 3})
    assert FollowUp.objects.filter(kind="test.listener", key="change:3").count() == 1


def test_an_announcement_nobody_listens_to_writes_nothing():
    with transaction.atomic():
        assert followups.announce("test.nobody", key="x", payload={}) == []
    assert not FollowUp.objects.exists()


def test_only_a_kind_with_a_handler_can_subscribe():
    with pytest.raises(LookupError):
        followups.subscribe("test.note", "test.unhandled")
