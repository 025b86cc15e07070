"""A move dated in the past (`move(now=...)`, for recording a past history such as the demo's)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from core.exceptions import GateFailed, PermissionRefused, ValidationFailed
from pilots import lifecycle
from pilots.lifecycle import Action
from pilots.models import Pilot, Stage, StageChange
from tests.factories import OpsUserFactory, PilotFactory

pytestmark = pytest.mark.django_db


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def test_a_move_dated_in_the_past_is_recorded_on_that_date(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, stage_changed_at=days_ago(20))
    when = days_ago(10)
    change = lifecycle.move(
        pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED, now=when
    )
    assert change.created_at == when
    pilot.refresh_from_db()
    assert pilot.stage == Stage.SANDBOX
    assert pilot.stage_changed_at == when


def test_a_dated_move_checks_the_same_gates_and_permissions(ops):
    pilot = PilotFactory(stage=Stage.SANDBOX, stage_changed_at=days_ago(20))
    with pytest.raises(GateFailed):
        lifecycle.move(
            pilot.pk, Action.PROMOTE, actor=ops, expected_stage=Stage.SANDBOX, now=days_ago(5)
        )
    lead = pilot.lead
    with pytest.raises(PermissionRefused):
        lifecycle.move(
            pilot.pk, Action.STOP, actor=lead, expected_stage=Stage.SANDBOX, now=days_ago(5)
        )
    assert not StageChange.objects.exists()


def test_a_move_cannot_be_dated_in_the_future(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, stage_changed_at=days_ago(20))
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.APPROVE,
            actor=ops,
            expected_stage=Stage.PROPOSED,
            now=timezone.now() + datetime.timedelta(minutes=5),
        )
    assert (refused.value.code, refused.value.field) == ("move_in_future", "now")
    assert Pilot.objects.get(pk=pilot.pk).stage == Stage.PROPOSED
    assert not StageChange.objects.exists()


def test_a_move_cannot_be_dated_before_the_pilots_last_change(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, stage_changed_at=days_ago(20))
    lifecycle.move(
        pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED, now=days_ago(10)
    )
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PAUSE,
            actor=OpsUserFactory(),
            expected_stage=Stage.SANDBOX,
            rationale="Quarter-end close.",
            now=days_ago(12),
        )
    assert (refused.value.code, refused.value.field) == ("move_before_last_change", "now")
    assert Pilot.objects.get(pk=pilot.pk).stage == Stage.SANDBOX
    assert StageChange.objects.count() == 1


def test_an_undated_move_is_dated_now(ops):
    pilot = PilotFactory(stage=Stage.PROPOSED, stage_changed_at=days_ago(20))
    before = timezone.now()
    change = lifecycle.move(pilot.pk, Action.APPROVE, actor=ops, expected_stage=Stage.PROPOSED)
    assert before <= change.created_at <= timezone.now()
