"""seed_demo: demo data with a dated, ordered past, idempotent, refused outside DEBUG/DEMO_MODE."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.ops import OPS_GROUP, is_ops
from feedback.models import FeedbackRound, Prompt, Response
from pilots.demo import PEOPLE
from pilots.lifecycle import Action
from pilots.models import (
    ACTIVE_STAGES,
    AITool,
    Membership,
    Participation,
    Pilot,
    Review,
    Stage,
    StageChange,
    Team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_settings(settings):
    settings.DEBUG = False
    settings.DEMO_MODE = True
    settings.SITE_URL = "http://127.0.0.1:8123"


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "teams": Team.objects.count(),
        "tools": AITool.objects.count(),
        "pilots": Pilot.objects.count(),
        "changes": StageChange.objects.count(),
        "participations": Participation.objects.count(),
        "reviews": Review.objects.count(),
        "rounds": FeedbackRound.objects.count(),
        "prompts": Prompt.objects.count(),
        "responses": Response.objects.count(),
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


def test_every_stage_change_is_in_the_past_and_ordered_like_its_id(demo_settings):
    call_command("seed_demo")
    now = timezone.now()
    changes = list(StageChange.objects.order_by("pk").values_list("created_at", flat=True))
    assert len(changes) >= 15
    assert changes == sorted(changes)
    # A past spread over months, not the seeding time: the latest move is days old.
    assert max(changes) < now - datetime.timedelta(days=2)
    assert max(changes) - min(changes) > datetime.timedelta(days=180)
    for pilot in Pilot.objects.prefetch_related("stage_changes"):
        history = [c.created_at for c in pilot.stage_changes.all()]
        for earlier, later in itertools.pairwise(history):
            assert later - earlier >= datetime.timedelta(hours=12), pilot


def test_each_pilot_was_created_before_its_first_move_and_dates_its_stage(demo_settings):
    call_command("seed_demo")
    now = timezone.now()
    for pilot in Pilot.objects.prefetch_related("stage_changes"):
        history = list(pilot.stage_changes.all())
        assert pilot.created_at < now - datetime.timedelta(days=2), pilot
        if history:
            assert pilot.created_at < history[0].created_at
            assert pilot.stage_changed_at == history[-1].created_at
        else:
            assert pilot.stage_changed_at == pilot.created_at


def test_promotions_pass_their_gates_on_the_rounds_and_reviews_before_them(demo_settings):
    call_command("seed_demo")
    assert not StageChange.objects.filter(overridden=True).exists()
    promotions = StageChange.objects.filter(action=Action.PROMOTE).select_related("pilot")
    assert {p.to_stage for p in promotions} == {Stage.PILOT, Stage.APPROVED}
    for change in promotions:
        assert change.gate_results
        assert all(g["status"] == "passed" for g in change.gate_results), change
        closed_before = change.pilot.rounds.filter(closes_at__lt=change.created_at)
        assert closed_before.filter(response_count__gte=5).exists()
        if change.to_stage == Stage.APPROVED:
            assert change.evidence["rounds"]
            reviewed = change.pilot.reviews.filter(
                reviewed_on__lte=timezone.localdate(change.created_at)
            )
            assert set(reviewed.values_list("kind", flat=True)) == set(Review.Kind.values)


def test_planned_dates_fit_each_pilots_history(demo_settings):
    call_command("seed_demo")
    today = timezone.localdate()
    for pilot in Pilot.objects.all():
        assert pilot.planned_start < pilot.planned_end
        if pilot.stage in (Stage.DRAFT, Stage.PROPOSED):
            assert pilot.planned_start > today, pilot  # proposed, not started
        first_round = pilot.rounds.order_by("period_start").first()
        if first_round:
            assert pilot.planned_start <= first_round.period_start
        if pilot.stage in ACTIVE_STAGES:
            # Running, and not past its end: the Ops home lists no demo pilot as overdue.
            assert pilot.planned_start < today <= pilot.planned_end, pilot
    retired = Pilot.objects.get(stage=Stage.RETIRED)
    assert retired.planned_start < retired.planned_end < today
    assert retired.planned_end < timezone.localdate(retired.stage_changed_at)


def test_it_creates_the_demo_users_with_password_demo(demo_settings):
    call_command("seed_demo")
    users = {u.username: u for u in get_user_model().objects.all()}
    for name, *_rest in PEOPLE:
        assert users[name].check_password("demo"), name
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


def test_the_leads_team_has_enough_people_who_sign_in_to_show_a_rounds_results(demo_settings):
    call_command("seed_demo")
    members = get_user_model().objects.filter(
        memberships__team__slug="support", memberships__role=Membership.Role.MEMBER
    )
    signing_in = [u.username for u in members if u.check_password("demo")]
    assert len(signing_in) >= django_settings.FEEDBACK_ANONYMITY_THRESHOLD
    assert {"participant", "amy", "ben"} <= set(signing_in)


def test_the_participant_takes_part_in_the_running_pilots(demo_settings):
    call_command("seed_demo")
    stages = set(
        Pilot.objects.filter(participations__user__username="participant").values_list(
            "stage", flat=True
        )
    )
    assert stages == {Stage.SANDBOX, Stage.PILOT, Stage.APPROVED}


def test_it_prints_where_to_sign_in_and_every_demo_user(demo_settings, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Sign in at http://127.0.0.1:8123/accounts/login/" in out
    assert "password 'demo'" in out
    for name, *_rest in PEOPLE:
        assert f"\n  {name} " in out
    assert "lead of Customer support" in out


def test_running_it_twice_reuses_what_exists(demo_settings):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first


def test_it_refuses_outside_debug_and_demo_mode(settings):
    settings.DEBUG = False
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEBUG=1 or DEMO_MODE=1"):
        call_command("seed_demo")
    assert not Pilot.objects.exists()
    assert not get_user_model().objects.exists()
