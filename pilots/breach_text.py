"""Guardrail breaches and checks in words, in the reader's language.

A breach stores facts (`GuardrailBreach.rule`: the rule as evaluated, the round's date, whether
its value may be shown), never a sentence: the Ops home, the pilot page, the report, the admin
and the emails word it here, in whatever language is active. Breaches recorded before the facts
existed keep their stored `detail`.

The words follow the one vocabulary of the loop: a guardrail is holding, broken or not
evaluated.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Guardrail, GuardrailBreach, GuardrailCheck

if TYPE_CHECKING:
    from feedback.models import FeedbackRound

# How each guardrail outcome is said, everywhere (pages, report, admin, API, emails).
OUTCOME_LABELS = {
    GuardrailCheck.Outcome.HOLDING: gettext_lazy("holding"),
    GuardrailCheck.Outcome.BROKEN: gettext_lazy("broken"),
    GuardrailCheck.Outcome.NOT_EVALUATED: gettext_lazy("not evaluated"),
}


def rule_facts(guardrail: Guardrail, feedback_round: FeedbackRound, *, shown: bool) -> dict:
    """The facts a breach is worded from, as the guardrail stands now (JSON-safe)."""
    return {
        "description": guardrail.description,
        "question_key": guardrail.question_key,
        "statistic": guardrail.statistic,
        "comparator": guardrail.comparator,
        "threshold": None if guardrail.threshold is None else str(guardrail.threshold),
        "date": feedback_round.period_start.isoformat(),
        "shown": shown,
    }


def incident_facts(guardrail: Guardrail, day: datetime.date) -> dict:
    """The facts of an exposure breach from an incident reported outside a round (that day)."""
    return {
        "description": guardrail.description,
        "question_key": "",
        "statistic": "",
        "comparator": "",
        "threshold": None,
        "date": day.isoformat(),
        "shown": False,
        "incident": True,
    }


def withheld_facts(feedback_round: FeedbackRound, *, action: str) -> dict:
    """The facts of a withheld breach: its round's date and what was done, no rule."""
    return {"withheld": True, "date": feedback_round.period_start.isoformat(), "action": action}


def _number(value) -> str:
    return format(Decimal(str(value)).quantize(Decimal("0.01")).normalize(), "f")


def _date(iso: str) -> str:
    return formats.date_format(datetime.date.fromisoformat(iso), "DATE_FORMAT")


def describe(breach: GuardrailBreach) -> str:
    """The breach in one sentence, in the active language."""
    facts = breach.rule or {}
    if not facts:
        return breach.detail
    if breach.guardrail_id is None or facts.get("withheld"):
        return _(
            "A guardrail of this pilot broke in the round of %(date)s. Which one, and the value "
            "seen, are withheld: too few people answered to say without identifying them."
        ) % {"date": _date(facts["date"])}
    params = {
        "rule": facts.get("description", ""),
        "date": _date(facts["date"]),
        "key": facts.get("question_key", ""),
        "statistic": Guardrail.Statistic(facts["statistic"]).label
        if facts.get("statistic")
        else "",
        "comparator": Guardrail.Comparator(facts["comparator"]).label
        if facts.get("comparator")
        else "",
        "threshold": _number(facts["threshold"]) if facts.get("threshold") is not None else "",
    }
    if breach.trigger == GuardrailBreach.Trigger.EXPOSURE and facts.get("incident"):
        return (
            _(
                "Guardrail “%(rule)s” broken: an incident “confidential data exposed” was "
                "reported on %(date)s."
            )
            % params
        )
    if breach.trigger == GuardrailBreach.Trigger.EXPOSURE:
        return (
            _(
                "Guardrail “%(rule)s” broken: an incident “confidential data exposed” was "
                "reported in the round of %(date)s."
            )
            % params
        )
    if breach.observed_value is not None:
        return _(
            "Guardrail “%(rule)s” broken in the round of %(date)s: %(statistic)s of “%(key)s” "
            "was %(value)s; it must stay %(comparator)s %(threshold)s."
        ) % {**params, "value": _number(breach.observed_value)}
    return (
        _(
            "Guardrail “%(rule)s” broken in the round of %(date)s: %(statistic)s of “%(key)s” "
            "must stay %(comparator)s %(threshold)s."
        )
        % params
    )
