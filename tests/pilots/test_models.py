"""The database refuses rows that break an invariant: one test per constraint of the app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from pilots.models import AITool, GuardrailBreach, Pilot, Review, Stage, StageChange
from tests.factories import (
    AIToolFactory,
    FeedbackRoundFactory,
    GuardrailFactory,
    MembershipFactory,
    MetricGuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


@contextmanager
def refused(constraint: str) -> Iterator[None]:
    """Expect the database to refuse the write, naming the constraint."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        yield
    message = str(info.value)
    # PostgreSQL names every constraint; SQLite names CHECK constraints but, for unique
    # ones, the columns.
    assert constraint in message or message.startswith("UNIQUE constraint failed"), message


def test_a_user_is_a_member_of_a_team_once():
    membership = MembershipFactory()
    with refused("pilots_membership_unique"):
        MembershipFactory(team=membership.team, user=membership.user)


def test_team_names_and_slugs_are_unique():
    TeamFactory(name="Support", slug="support")
    with refused("pilots_team_name"):
        TeamFactory(name="Support", slug="support-2")


def test_tool_names_are_unique():
    AIToolFactory(name="Copilot")
    with refused("pilots_aitool_name"):
        AITool.objects.create(name="Copilot", vendor="Other")


def test_a_pilot_cannot_end_before_it_starts():
    pilot = PilotFactory()
    with refused("pilots_pilot_dates_in_order"):
        Pilot.objects.filter(pk=pilot.pk).update(
            planned_end=pilot.planned_start - timezone.timedelta(days=1)
        )


def test_a_paused_pilot_must_remember_where_it_was_paused_from():
    with refused("pilots_pilot_paused_from_iff_paused"):
        PilotFactory(stage=Stage.PAUSED, paused_from="")


def test_a_pilot_that_is_not_paused_has_no_paused_from():
    with refused("pilots_pilot_paused_from_iff_paused"):
        PilotFactory(stage=Stage.PILOT, paused_from=Stage.SANDBOX)


def test_a_pilot_can_only_be_paused_from_an_active_stage():
    with refused("pilots_pilot_paused_from_iff_paused"):
        PilotFactory(stage=Stage.PAUSED, paused_from=Stage.DRAFT)


def test_a_pilot_stage_is_one_of_the_stages():
    with refused("pilots_pilot_stage_valid"):
        PilotFactory(stage="launched")


def test_a_pilot_round_opens_on_a_real_weekday():
    with refused("pilots_pilot_weekday_valid"):
        PilotFactory(cadence_weekday=7)


@pytest.mark.parametrize("days", [0, 15])
def test_a_response_window_lasts_one_to_fourteen_days(days):
    with refused("pilots_pilot_window_1_to_14_days"):
        PilotFactory(response_window_days=days)


def test_a_person_participates_in_a_pilot_once():
    participation = ParticipationFactory()
    with refused("pilots_participation_unique"):
        ParticipationFactory(pilot=participation.pilot, user=participation.user)


@pytest.mark.parametrize(
    ("direction", "baseline", "target"),
    [("higher", "3.0", "2.5"), ("higher", "3.0", "3.0"), ("lower", "10", "12")],
)
def test_a_target_must_improve_on_its_baseline(direction, baseline, target):
    with refused("pilots_successmetric_target_improves_on_baseline"):
        SuccessMetricFactory(
            direction=direction, baseline=Decimal(baseline), target=Decimal(target)
        )


def test_a_metric_without_baseline_may_have_any_target():
    assert SuccessMetricFactory(baseline=None, target=Decimal("1")).pk


def test_a_metric_needs_at_least_one_response():
    with refused("pilots_successmetric_min_responses_positive"):
        SuccessMetricFactory(min_responses=0)


def test_a_metric_name_is_unique_per_pilot():
    metric = SuccessMetricFactory(name="Quality")
    with refused("pilots_successmetric_unique_name"):
        SuccessMetricFactory(pilot=metric.pilot, name="Quality")


def test_a_metric_guardrail_needs_its_threshold():
    with refused("pilots_guardrail_metric_fields_iff_metric"):
        MetricGuardrailFactory(threshold=None)


def test_a_policy_guardrail_carries_no_threshold():
    with refused("pilots_guardrail_metric_fields_iff_metric"):
        GuardrailFactory(kind="policy", threshold=Decimal("3"))


def test_a_round_breaches_a_guardrail_once():
    guardrail = MetricGuardrailFactory()
    feedback_round = FeedbackRoundFactory(pilot=guardrail.pilot)
    GuardrailBreach.objects.create(guardrail=guardrail, pilot=guardrail.pilot, round=feedback_round)
    with refused("pilots_guardrailbreach_once_per_round"):
        GuardrailBreach.objects.create(
            guardrail=guardrail, pilot=guardrail.pilot, round=feedback_round
        )


def test_a_resolved_breach_has_a_resolution_note():
    guardrail = GuardrailFactory()
    with refused("pilots_guardrailbreach_resolution_has_note"):
        GuardrailBreach.objects.create(
            guardrail=guardrail,
            pilot=guardrail.pilot,
            resolved_at=timezone.now(),
            resolution_note="",
        )


def test_a_review_cleared_with_conditions_writes_them():
    with refused("pilots_review_conditions_written"):
        ReviewFactory(outcome=Review.Outcome.CLEARED_WITH_CONDITIONS, notes="")


def test_a_stage_change_moves_somewhere():
    pilot = PilotFactory()
    with refused("pilots_stagechange_moves"):
        StageChange.objects.create(
            pilot=pilot, action="submit", from_stage="draft", to_stage="draft"
        )


def test_an_overridden_stage_change_has_a_rationale():
    pilot = PilotFactory()
    with refused("pilots_stagechange_override_has_rationale"):
        StageChange.objects.create(
            pilot=pilot,
            action="promote",
            from_stage="sandbox",
            to_stage="pilot",
            overridden=True,
            rationale="",
        )


def test_postgresql_refuses_a_pilot_on_a_tool_that_is_not_allowed(postgres):
    tool = AIToolFactory(approval_status=AITool.ApprovalStatus.NOT_ALLOWED)
    with refused("pilots_pilot_tool_allowed"):
        PilotFactory(tool=tool)


def test_postgresql_refuses_data_above_the_tools_classification(postgres):
    tool = AIToolFactory(max_data_classification="internal")
    with refused("pilots_pilot_classification_within_tool"):
        PilotFactory(tool=tool, data_classification="confidential", stage="sandbox")
    pilot = PilotFactory(tool=tool, data_classification="internal", stage="pilot")
    with refused("pilots_pilot_classification_within_tool"):
        Pilot.objects.filter(pk=pilot.pk).update(data_classification="restricted")


def test_postgresql_lets_a_draft_exceed_the_ceiling_but_not_leave_draft_so(postgres):
    """A draft from a declaration keeps the declared data; it cannot become a proposal."""
    tool = AIToolFactory(max_data_classification="public")
    draft = PilotFactory(tool=tool, data_classification="confidential")
    with refused("pilots_pilot_classification_within_tool"):
        Pilot.objects.filter(pk=draft.pk).update(stage="proposed")
    Pilot.objects.filter(pk=draft.pk).update(data_classification="public")
    Pilot.objects.filter(pk=draft.pk).update(stage="proposed")
    assert Pilot.objects.get(pk=draft.pk).stage == "proposed"


def test_a_pilot_whose_tool_was_banned_later_can_still_be_saved_otherwise(postgres):
    tool = AIToolFactory()
    pilot = PilotFactory(tool=tool)
    AITool.objects.filter(pk=tool.pk).update(approval_status=AITool.ApprovalStatus.NOT_ALLOWED)
    pilot.title = "Renamed"
    pilot.save()
    pilot.refresh_from_db()
    assert pilot.title == "Renamed"
