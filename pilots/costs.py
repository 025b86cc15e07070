"""What a pilot costs per month, and what an hour it saves costs, with its interval.

Monthly cost = the tool's amount × the pilot's participants (per seat) or the amount (flat), in
COST_CURRENCY. Cost per hour saved = monthly cost / hours saved per month
(`decisions.evidence.hours_saved`); since it falls as hours rise, its interval is
[cost / high, cost / low] of the hours' interval, with no upper end when the hours' interval
reaches zero or below (saving nothing makes an hour infinitely dear).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from .choices import CostModel

if TYPE_CHECKING:
    from .models import AITool


@dataclass(frozen=True)
class CostPerHour:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None  # None with a low end: unbounded


def currency() -> str:
    return str(getattr(settings, "COST_CURRENCY", "EUR"))


def monthly_cost(tool: AITool, seats: int) -> Decimal | None:
    """The tool's cost per month for this many seats (None: its cost is not known)."""
    return monthly_cost_of(tool.cost_model, tool.cost_amount, seats)


def monthly_cost_of(model: str, amount: Decimal | None, seats: int) -> Decimal | None:
    """`monthly_cost` from the tool's two fields (for pages that read them as values)."""
    if amount is None:
        return None
    if model == CostModel.PER_SEAT:
        return amount * seats
    if model == CostModel.FLAT:
        return amount
    return None


def cost_per_hour(
    cost: Decimal | float | None,
    hours: float | None,
    hours_low: float | None,
    hours_high: float | None,
) -> CostPerHour:
    """Cost per hour saved and its interval from hours saved per month and their interval."""
    if cost is None or hours is None or hours <= 0:
        return CostPerHour(None, None, None)
    cost = float(cost)
    low = cost / hours_high if hours_high is not None and hours_high > 0 else None
    high = cost / hours_low if hours_low is not None and hours_low > 0 else None
    return CostPerHour(cost / hours, low, high)


def over_budget(cost: Decimal | None, cap: Decimal | None) -> bool:
    return cost is not None and cap is not None and cost > cap
