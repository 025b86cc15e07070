"""Rules for what a pilot may be: tool allowed, data within the tool's reach, dates, targets.

Forms, the admin (through model `clean`) and the API call these, so every refusal carries
the same message and names the same field.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from core.exceptions import ValidationFailed

from .choices import DataClassification

if TYPE_CHECKING:
    from .models import AITool, Pilot


def fits_ceiling(tool: AITool, data_classification: str) -> bool:
    """Tell whether data of this classification may go to the tool (its ceiling or below)."""
    return DataClassification.rank(data_classification) <= DataClassification.rank(
        tool.max_data_classification
    )


def validate_tool_and_data(
    tool: AITool | None, data_classification: str, *, check_ceiling: bool = True
) -> None:
    """Refuse a tool that is not allowed, or data more sensitive than the tool may receive."""
    if tool is None:
        return
    if tool.approval_status == type(tool).ApprovalStatus.NOT_ALLOWED:
        raise ValidationFailed(
            _("%(tool)s is not allowed: choose another tool or ask Ops to re-evaluate it.")
            % {"tool": tool.name},
            code="tool_not_allowed",
            field="tool",
        )
    if check_ceiling and not fits_ceiling(tool, data_classification):
        raise ValidationFailed(
            _("%(tool)s may receive at most %(max)s data; this pilot uses %(used)s data.")
            % {
                "tool": tool.name,
                "max": DataClassification(tool.max_data_classification).label,
                "used": DataClassification(data_classification).label,
            },
            code="classification_too_high",
            field="data_classification",
        )


def validate_dates(planned_start: datetime.date | None, planned_end: datetime.date | None) -> None:
    if planned_start and planned_end and planned_end < planned_start:
        raise ValidationFailed(
            _("The planned end must be on or after the planned start."),
            code="dates_out_of_order",
            field="planned_end",
        )


def validate_target(direction: str, baseline: Decimal | None, target: Decimal | None) -> None:
    """Refuse a target that does not improve on its baseline."""
    if baseline is None or target is None:
        return
    if direction == "higher" and not target > baseline:
        raise ValidationFailed(
            _("Higher is better, so the target must be above the baseline (%(baseline)s).")
            % {"baseline": baseline},
            code="target_not_improving",
            field="target",
        )
    if direction == "lower" and not target < baseline:
        raise ValidationFailed(
            _("Lower is better, so the target must be below the baseline (%(baseline)s).")
            % {"baseline": baseline},
            code="target_not_improving",
            field="target",
        )


def validate_guardrail(
    kind: str,
    *,
    question_key: str,
    statistic: str,
    comparator: str,
    threshold: Decimal | None,
) -> None:
    """Refuse a metric guardrail without its measure, or a policy rule that carries one."""
    metric_fields = {
        "question_key": question_key,
        "statistic": statistic,
        "comparator": comparator,
        "threshold": threshold,
    }
    if kind == "metric":
        for field, value in metric_fields.items():
            if value in (None, ""):
                raise ValidationFailed(
                    _(
                        "A metric threshold needs a question key, a statistic, a comparator "
                        "and a threshold."
                    ),
                    code="metric_guardrail_incomplete",
                    field=field,
                )
        return
    for field, value in metric_fields.items():
        if value not in (None, ""):
            raise ValidationFailed(
                _(
                    "A policy rule has no metric threshold: leave this empty or choose "
                    "“Metric threshold”."
                ),
                code="policy_guardrail_with_metric",
                field=field,
            )


def validate_review(outcome: str, notes: str) -> None:
    """Refuse a review cleared with conditions whose conditions are not written."""
    if outcome == "cleared_with_conditions" and not (notes or "").strip():
        raise ValidationFailed(
            _("Write the conditions the review was cleared with."),
            code="conditions_missing",
            field="notes",
        )


def validate_anonymity_change(pilot: Pilot) -> None:
    """Refuse switching a pilot's anonymous feedback once it has a feedback round.

    Participants answered (and were invited) under the promise in force; each round keeps the
    setting it opened with (FeedbackRound.anonymous), and a pilot with rounds keeps it too, so
    the promise never changes under anyone. The database refuses it as well
    (pilots_pilot_anonymity_fixed, on PostgreSQL).
    """
    if pilot.pk is None:
        return
    stored = (
        type(pilot)
        ._default_manager.filter(pk=pilot.pk)
        .values_list("anonymous_feedback", flat=True)
        .first()
    )
    if stored is None or stored == pilot.anonymous_feedback:
        return
    if pilot.rounds.exists():
        raise ValidationFailed(
            _(
                "Feedback rounds of this pilot were opened as anonymous: its feedback stays "
                "anonymous. Start a new pilot to collect named feedback."
            )
            if stored
            else _(
                "Feedback rounds of this pilot were opened as not anonymous: it cannot become "
                "anonymous now. Start a new pilot to collect anonymous feedback."
            ),
            code="anonymity_fixed",
            field="anonymous_feedback",
        )
