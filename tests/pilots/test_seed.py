"""seed_demo: demo data with real histories, idempotent, refused outside DEBUG/DEMO_MODE."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

import feedback.demo
from pilots.models import (
    OPS_GROUP,
    AITool,
    Participation,
    Pilot,
    Stage,
    StageChange,
    Team,
    is_ops,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_settings(settings, monkeypatch):
    settings.DEBUG = False
    settings.DEMO_MODE = True
    calls = []
    monkeypatch.setattr(feedback.demo, "seed_feedback", lambda: calls.append(1), raising=False)
    return calls


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "teams": Team.objects.count(),
        "tools": AITool.objects.count(),
        "pilots": Pilot.objects.count(),
        "changes": StageChange.objects.count(),
        "participations": Participation.objects.count(),
    }


def test_it_creates_pilots_in_every_stage_through_the_lifecycle(demo_settings):
    call_command("seed_demo", stdout=None)
    assert set(Pilot.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert set(AITool.objects.values_list("approval_status", flat=True)) == set(
        AITool.ApprovalStatus.values
    )
    for pilot in Pilot.objects.exclude(stage=Stage.DRAFT):
        history = list(pilot.stage_changes.order_by("created_at", "pk"))
        assert history, pilot
        assert history[0].from_stage == Stage.DRAFT
        assert history[-1].to_stage == pilot.stage
        for earlier, later in itertools.pairwise(history):
            assert earlier.to_stage == later.from_stage
        for change in history:
            if change.action in ("approve", "promote"):
                assert change.actor_id != pilot.lead_id
                assert is_ops(change.actor)
            if change.overridden:
                assert change.rationale


def test_it_creates_the_demo_users_with_password_demo(demo_settings):
    call_command("seed_demo")
    users = {u.username: u for u in get_user_model().objects.all()}
    assert {"ops", "ops2", "lead", "participant"} <= set(users)
    for name in ("ops", "ops2", "lead", "participant"):
        assert users[name].check_password("demo")
    ops = users["ops"]
    assert ops.is_staff and not ops.is_superuser
    assert ops.groups.filter(name=OPS_GROUP).exists()
    assert ops.has_perm("pilots.view_pilot") and ops.has_perm("pilots.add_review")
    assert ops.has_perm("auth.view_user")  # to look up a lead in the admin
    assert not ops.has_perm("auth.change_user")
    assert not is_ops(users["lead"])
    assert Pilot.objects.filter(lead=users["lead"]).exists()


def test_a_demo_ops_group_re_created_by_hand_can_view_users_again(demo_settings):
    Group.objects.filter(name=OPS_GROUP).delete()
    call_command("seed_demo")
    assert get_user_model().objects.get(username="ops").has_perm("auth.view_user")


def test_the_participant_takes_part_in_the_running_pilots(demo_settings):
    call_command("seed_demo")
    stages = set(
        Pilot.objects.filter(participations__user__username="participant").values_list(
            "stage", flat=True
        )
    )
    assert stages == {Stage.SANDBOX, Stage.PILOT, Stage.APPROVED}


def test_running_it_twice_reuses_what_exists(demo_settings):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert demo_settings == [1, 1]  # the feedback demo is seeded after the pilots, each run


def test_it_refuses_outside_debug_and_demo_mode(settings):
    settings.DEBUG = False
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEBUG=1 or DEMO_MODE=1"):
        call_command("seed_demo")
    assert not Pilot.objects.exists()
    assert not get_user_model().objects.exists()
