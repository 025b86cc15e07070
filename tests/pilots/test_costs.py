"""What a pilot costs, what an hour it saves costs (with its interval), and the budget guardrail."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.db import IntegrityError
from django.urls import reverse

from decisions import evidence
from pilots import costs, tools
from pilots.models import AITool, Pilot
from tests.decisions.evidence_support import add_round, scores
from tests.factories import AIToolFactory, ParticipationFactory, PilotFactory
from tests.stats_reference import count_score_bounds, t_bounds

pytestmark = pytest.mark.django_db


def test_a_per_seat_tool_costs_its_amount_per_participant_and_a_flat_one_its_amount():
    per_seat = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("20.00"))
    flat = AIToolFactory(cost_model="flat", cost_amount=Decimal("500.00"))
    unknown = AIToolFactory()
    assert costs.monthly_cost(per_seat, 7) == Decimal("140.00")
    assert costs.monthly_cost(flat, 7) == Decimal("500.00")
    assert costs.monthly_cost(unknown, 7) is None


def test_cost_per_hour_saved_and_its_interval_match_a_reference_computation():
    tool = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("30"))
    pilot = PilotFactory(stage="pilot", cadence="weekly", tool=tool)
    for _ in range(4):
        ParticipationFactory(pilot=pilot)
    minutes = [60, 90, 120, 30, 60, 90]
    add_round(pilot, scores("minutes_saved", minutes))
    hours = evidence.page_context(pilot)["hours_saved"]

    result = costs.cost_per_hour(
        costs.monthly_cost(tool, 4), hours.estimate, hours.ci_low, hours.ci_high
    )

    # Reference: hours per month = mean minutes × 52/12 weekly periods × 4 people / 60, its
    # interval the minutes' (t low, count score high) scaled alike; 4 seats × 30 a month.
    scale = 52 / 12 * 4 / 60
    cost = 4 * 30.0
    low_hours, high_hours = t_bounds(minutes)[0] * scale, count_score_bounds(minutes)[1] * scale
    assert result.estimate == pytest.approx(cost / (np.mean(minutes) * scale))
    assert result.ci_low == pytest.approx(cost / high_hours)
    assert result.ci_high == pytest.approx(cost / low_hours)
    assert result.ci_low < result.estimate < result.ci_high


def test_an_interval_of_hours_reaching_zero_leaves_the_cost_per_hour_without_upper_end():
    result = costs.cost_per_hour(Decimal("100"), 2.0, -1.0, 5.0)
    assert (result.estimate, result.ci_low, result.ci_high) == (50.0, 20.0, None)
    assert costs.cost_per_hour(Decimal("100"), None, None, None).estimate is None
    assert costs.cost_per_hour(None, 3.0, 1.0, 5.0).estimate is None


def test_the_pilot_page_shows_cost_per_month_and_per_hour_saved(client, lead, team, settings):
    settings.COST_CURRENCY = "CHF"
    tool = AIToolFactory(cost_model="flat", cost_amount=Decimal("260"))
    pilot = PilotFactory(stage="pilot", cadence="weekly", tool=tool, team=team, lead=lead)
    ParticipationFactory(pilot=pilot)
    add_round(pilot, scores("minutes_saved", [60, 60, 60, 60, 60, 60]))
    client.force_login(lead)

    page = client.get(pilot.get_absolute_url()).content.decode()

    assert "260.00 CHF" in page
    # 60 minutes a week for one person: 52/12 hours a month, so 260 / 4.33 = 60.00 an hour.
    assert "60.00 CHF" in page


def test_the_budget_guardrail_flags_running_pilots_whose_projected_cost_exceeds_the_cap(
    client, ops
):
    tool = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("25"))
    over = PilotFactory(stage="pilot", tool=tool, budget_cap=Decimal("60"), title="Over")
    within = PilotFactory(stage="pilot", tool=tool, budget_cap=Decimal("75"), title="Within")
    draft = PilotFactory(stage="draft", tool=tool, budget_cap=Decimal("10"), title="Draft")
    for pilot in (over, within, draft):
        for _ in range(3):
            ParticipationFactory(pilot=pilot)

    assert list(Pilot.objects.over_budget()) == [over]
    assert Pilot.objects.over_budget().get().monthly_cost == Decimal("75")
    client.force_login(ops)
    assert client.get(reverse("home")).context["ops"]["over_budget"] == [over]
    page = client.get(over.get_absolute_url()).content.decode()
    assert "over budget" in page


def test_ops_set_a_tools_cost_through_the_registry_write(ops):
    tool = AIToolFactory()
    tools.save_tool(
        tool.pk, actor=ops, fields={"cost_model": "per_seat", "cost_amount": Decimal("12.5")}
    )
    tool.refresh_from_db()
    assert (tool.cost_model, tool.cost_amount) == ("per_seat", Decimal("12.50"))


def test_the_database_refuses_a_cost_without_a_model_and_a_negative_cap():
    with pytest.raises(IntegrityError):
        AITool.objects.create(name="X", vendor="V", cost_model="none", cost_amount=Decimal("1"))


def test_the_database_refuses_a_negative_budget_cap():
    with pytest.raises(IntegrityError):
        PilotFactory(budget_cap=Decimal("-1"))


def test_the_portfolio_shows_each_teams_cost_and_cost_per_hour_saved_from_its_hours():
    tool = AIToolFactory(cost_model="per_seat", cost_amount=Decimal("30"))
    pilot = PilotFactory(stage="pilot", cadence="weekly", tool=tool)
    for _ in range(4):
        ParticipationFactory(pilot=pilot)
    add_round(pilot, scores("minutes_saved", [60, 90, 120, 30, 60, 90]))
    unknown = PilotFactory(stage="sandbox", cadence="weekly", tool=AIToolFactory())
    ParticipationFactory(pilot=unknown)
    add_round(unknown, scores("minutes_saved", [10, 20, 30, 40, 50, 60]))
    hours = evidence.page_context(pilot)["hours_saved"]

    context = evidence.portfolio_context(Pilot.objects.all())

    [row] = [r for r in context["hours_by_team"] if r["key"] == pilot.team.name]
    assert row["hours"] == pytest.approx(hours.estimate)
    # The team's interval combines its pilots' (stats.sum_intervals); the cost follows it.
    expected = (120 / row["hours"], 120 / row["ci_high"], 120 / row["ci_low"])
    assert row["cost"] == Decimal("120")
    per_hour = row["cost_per_hour"]
    assert (per_hour.estimate, per_hour.ci_low, per_hour.ci_high) == pytest.approx(expected)
    # A group with a pilot whose tool cost is unknown shows no cost rather than a partial one.
    [sandbox] = [r for r in context["hours_by_stage"] if r["key"] == "sandbox"]
    assert sandbox["cost"] is None
    assert sandbox["cost_per_hour"].estimate is None
