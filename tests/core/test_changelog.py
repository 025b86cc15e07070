"""Change records: one per write, append-only, readable as a pilot's history and an audit log."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from core import changelog
from core.models import ChangeRecord
from tests.factories import PilotFactory, SuccessMetricFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_record_says_who_what_changed_before_and_after_and_why():
    lead = UserFactory()
    pilot = PilotFactory(title="Old title")
    before = changelog.snapshot(pilot, ["title", "planned_end", "tool"])
    pilot.title = "New title"
    after = changelog.snapshot(pilot, ["title", "planned_end", "tool"])

    record = changelog.record(
        "pilot.edited",
        subject=pilot,
        scope=pilot,
        actor=lead,
        changes=changelog.diff(before, after),
        reason="Clearer",
    )

    record.refresh_from_db()
    assert (record.actor, record.action, record.reason) == (lead, "pilot.edited", "Clearer")
    assert record.changes == {"title": ["Old title", "New title"]}
    assert record.subject_id == str(pilot.pk)


def test_values_are_kept_as_plain_json():
    assert changelog.plain(Decimal("3.50")) == "3.5"
    assert changelog.plain(Decimal("4")) == "4"
    assert changelog.plain(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert changelog.diff({"target": Decimal("3.5")}, {"target": Decimal("3.50")}) == {}


def test_a_pilots_history_holds_what_hangs_off_it_in_order():
    pilot = PilotFactory()
    other = PilotFactory()
    metric = SuccessMetricFactory(pilot=pilot)
    changelog.record("pilot.created", subject=pilot, scope=pilot, actor=None)
    changelog.record("metric.added", subject=metric, scope=pilot, actor=None)
    changelog.record("pilot.created", subject=other, scope=other, actor=None)
    assert [r.action for r in changelog.history(pilot)] == ["pilot.created", "metric.added"]


def test_the_audit_log_of_a_period_holds_every_record_of_it():
    pilot = PilotFactory()
    now = timezone.now()
    changelog.record("a", subject=pilot, actor=None, at=now - datetime.timedelta(days=40))
    changelog.record("b", subject=pilot, actor=None, at=now - datetime.timedelta(days=3))
    changelog.record("c", subject=pilot, actor=None, at=now)
    period = changelog.in_period(now - datetime.timedelta(days=30), now)
    assert [r.action for r in period] == ["b"]


def test_the_database_refuses_to_change_or_delete_a_record():
    record = changelog.record("pilot.created", subject=PilotFactory(), actor=None)
    with pytest.raises(DatabaseError), transaction.atomic():
        ChangeRecord.objects.filter(pk=record.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        ChangeRecord.objects.filter(pk=record.pk).delete()
    assert ChangeRecord.objects.get(pk=record.pk).reason == ""
