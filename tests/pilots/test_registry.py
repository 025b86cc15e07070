"""Registry rules: each refusal is a clear error on the field concerned."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import ValidationFailed
from pilots import registry
from pilots.models import AITool
from tests.factories import (
    AIToolFactory,
    GuardrailFactory,
    PilotFactory,
    ReviewFactory,
    SuccessMetricFactory,
)


def tool(**kwargs) -> AITool:
    return AITool(name="Copilot", vendor="Acme", **kwargs)


def test_a_tool_that_is_not_allowed_is_refused_on_the_tool_field():
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_tool_and_data(tool(approval_status="not_allowed"), "public")
    assert (refused.value.code, refused.value.field) == ("tool_not_allowed", "tool")
    assert "Copilot is not allowed" in str(refused.value)


@pytest.mark.parametrize("status", ["approved", "under_evaluation"])
def test_approved_and_evaluated_tools_may_be_used(status):
    registry.validate_tool_and_data(
        tool(approval_status=status, max_data_classification="internal"), "internal"
    )


@pytest.mark.parametrize(
    ("tool_max", "used", "ok"),
    [
        ("internal", "public", True),
        ("internal", "internal", True),
        ("internal", "confidential", False),
        ("confidential", "restricted", False),
        ("restricted", "restricted", True),
    ],
)
def test_data_may_not_exceed_the_tools_classification(tool_max, used, ok):
    check = tool(approval_status="approved", max_data_classification=tool_max)
    if ok:
        registry.validate_tool_and_data(check, used)
        return
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_tool_and_data(check, used)
    assert (refused.value.code, refused.value.field) == (
        "classification_too_high",
        "data_classification",
    )


def test_dates_must_be_in_order():
    today = datetime.date(2026, 3, 1)
    registry.validate_dates(today, today)
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_dates(today, today - datetime.timedelta(days=1))
    assert (refused.value.code, refused.value.field) == ("dates_out_of_order", "planned_end")


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "ok"),
    [
        ("higher", "3", "4", True),
        ("higher", "3", "3", False),
        ("higher", "3", "2", False),
        ("lower", "10", "8", True),
        ("lower", "10", "10", False),
        ("lower", "10", "11", False),
        ("higher", None, "1", True),
    ],
)
def test_a_target_lies_on_the_improving_side_of_its_baseline(direction, baseline, target, ok):
    args = (direction, Decimal(baseline) if baseline else None, Decimal(target))
    if ok:
        registry.validate_target(*args)
        return
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_target(*args)
    assert (refused.value.code, refused.value.field) == ("target_not_improving", "target")


def test_a_metric_guardrail_names_the_first_missing_part():
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_guardrail(
            "metric", question_key="trust", statistic="mean", comparator="", threshold=Decimal("3")
        )
    assert (refused.value.code, refused.value.field) == (
        "metric_guardrail_incomplete",
        "comparator",
    )


def test_a_policy_rule_with_a_threshold_is_refused_on_that_field():
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_guardrail(
            "policy", question_key="", statistic="", comparator="", threshold=Decimal("1")
        )
    assert refused.value.field == "threshold"


def test_review_conditions_must_be_written():
    registry.validate_review("cleared", "")
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_review("cleared_with_conditions", "  ")
    assert refused.value.field == "notes"


@pytest.mark.django_db
def test_model_validation_shows_each_rule_on_its_field():
    banned = AIToolFactory(name="Banned", approval_status="not_allowed")
    pilot = PilotFactory.build(tool=banned, team=None, lead=None)
    with pytest.raises(ValidationError) as refused:
        pilot.clean()
    assert "tool" in refused.value.message_dict

    narrow = AIToolFactory(name="Narrow", max_data_classification="internal")
    pilot = PilotFactory.build(tool=narrow, data_classification="restricted")
    with pytest.raises(ValidationError) as refused:
        pilot.clean()
    assert "data_classification" in refused.value.message_dict

    pilot = PilotFactory.build(
        tool=narrow, planned_start=datetime.date(2026, 5, 2), planned_end=datetime.date(2026, 5, 1)
    )
    with pytest.raises(ValidationError) as refused:
        pilot.clean()
    assert "planned_end" in refused.value.message_dict

    metric = SuccessMetricFactory.build(
        direction="lower", baseline=Decimal("5"), target=Decimal("6")
    )
    with pytest.raises(ValidationError) as refused:
        metric.clean()
    assert "target" in refused.value.message_dict

    guardrail = GuardrailFactory.build(kind="metric", question_key="trust")
    with pytest.raises(ValidationError) as refused:
        guardrail.clean()
    assert "statistic" in refused.value.message_dict

    review = ReviewFactory.build(outcome="cleared_with_conditions", notes="")
    with pytest.raises(ValidationError) as refused:
        review.clean()
    assert "notes" in refused.value.message_dict
