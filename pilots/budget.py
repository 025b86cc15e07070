"""The budget guardrail: flag, or pause, a running pilot whose projected cost exceeds its cap.

* Each pilot says what its guardrail does (`Pilot.budget_action`): flag it to Ops (the Ops home
  and the pilot page show it, `Pilot.objects.over_budget()`), or pause it. The lead chooses
  with the cap when proposing; Ops change it later (`set_action`, with a change record).
* A pause is a stage move by the system (`lifecycle.move`, actor None): the same audited
  StageChange, change record and announcement to the pilot's people as an Ops pause, with the
  projected cost and the cap in its evidence.
* Asked when the projected cost may have risen (a tool's cost changed: `pilots.tools.save_tool`;
  the guardrail switched to pause: `set_action`) and by a beat tick for anything else (a pilot
  that became active over its cap). Pausing twice does nothing: a paused pilot is not running.
* Ops decide last. A pilot Ops resume after a budget pause is not paused again for the same
  cost and cap: only a higher cost or a lower cap pauses it again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, costs, lifecycle
from .choices import BudgetAction
from .models import Pilot, StageChange

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def _facts(cost: Decimal, cap: Decimal) -> dict[str, str]:
    cent = Decimal("0.01")
    return {
        "monthly_cost": str(cost.quantize(cent)),
        "cap": str(cap.quantize(cent)),
        "currency": costs.currency(),
    }


def _accepted_by_ops(pilot: Pilot, facts: dict[str, str]) -> bool:
    """Ops resumed the pilot after a budget pause for this very cost and cap (or a worse one)."""
    last = (
        StageChange.objects.filter(pilot=pilot, evidence__has_key="budget")
        .order_by("-created_at", "-pk")
        .values_list("evidence", flat=True)
        .first()
    )
    if last is None:
        return False
    seen = last["budget"]
    return Decimal(facts["monthly_cost"]) <= Decimal(seen["monthly_cost"]) and Decimal(
        facts["cap"]
    ) >= Decimal(seen["cap"])


def enforce(pilot_id: int) -> StageChange | None:
    """Pause a running pilot over its cap whose guardrail says pause; return the pause, if any.

    Locks the pilot, re-checks stage, action, cost and cap; a pilot gone, not running, within
    its cap, flag-only, or resumed by Ops at this cost is left alone (so repeats do nothing).
    """
    with transaction.atomic():
        pilot = Pilot.objects.select_for_update().filter(pk=pilot_id).first()
        if pilot is None or pilot.budget_action != BudgetAction.PAUSE:
            return None
        # Under the lock, the one rule of "running and over its cap" (Pilot.objects.over_budget).
        cost = (
            Pilot.objects.over_budget()
            .filter(pk=pilot.pk)
            .values_list("monthly_cost", flat=True)
            .first()
        )
        if cost is None:
            return None
        facts = _facts(cost, pilot.budget_cap)
        if _accepted_by_ops(pilot, facts):
            return None
        return lifecycle.move(
            pilot.pk,
            lifecycle.Action.PAUSE,
            actor=None,
            expected_stage=pilot.stage,
            rationale=_(
                "Budget guardrail: the projected cost, %(cost)s %(currency)s a month, is above "
                "the cap of %(cap)s %(currency)s."
            )
            % {"cost": facts["monthly_cost"], "cap": facts["cap"], "currency": facts["currency"]},
            budget=facts,
        )


def enforce_all(pilot_ids: list[int] | None = None) -> list[int]:
    """`enforce` every running pilot over its cap set to pause (or those of `pilot_ids`).

    Return the ids of the pilots paused now. One pilot per transaction: one refused move
    does not hold back the others.
    """
    candidates = Pilot.objects.over_budget().filter(budget_action=BudgetAction.PAUSE)
    if pilot_ids is not None:
        candidates = candidates.filter(pk__in=pilot_ids)
    paused = []
    for pk in candidates.order_by("pk").values_list("pk", flat=True):
        if enforce(pk) is not None:
            paused.append(pk)
    return paused


def set_action(
    pilot_id: int, *, actor: AbstractBaseUser, action: str
) -> tuple[Pilot, StageChange | None]:
    """Change what a pilot's budget guardrail does (Ops), recorded; pause at once if due.

    Returns the pilot and the pause this change caused (None if it caused none).
    """
    if not access.may_set_budget_action(actor):
        raise PermissionRefused(_("Only Ops can change a running pilot's budget guardrail."))
    if action not in BudgetAction.values:
        raise ValidationFailed(
            _("Choose to flag or to pause."), code="invalid_budget_action", field="budget_action"
        )
    with transaction.atomic():
        pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        before = pilot.budget_action
        if before == action:
            return pilot, None
        pilot.budget_action = action
        pilot.save(update_fields=["budget_action", "updated_at"])
        changelog.record(
            "budget.action_changed",
            subject=pilot,
            scope=pilot,
            actor=actor,
            changes={"budget_action": [before, action]},
        )
        paused = enforce(pilot.pk)
    return pilot, paused
