"""The intake risk questionnaire: from a lead's answers to an EU AI Act category and a level.

The mapping is data (`RiskRule`, shipped by migration pilots.0019_risk_rules from Regulation
(EU) 2024/1689): each answer a lead may tick names its category, its article and why. The most
severe category ticked wins; nothing ticked is minimal risk. A prohibited practice (Art. 5) is
refused like a banned tool, on the field `risk_answers`; a high-risk use (Art. 6, Annex III)
needs a cleared security and legal review before the sandbox (`pilots.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.exceptions import ValidationFailed

from .choices import AIActCategory
from .models import Pilot, RiskRule

# Most severe first: the first category any ticked answer falls in is the pilot's.
SEVERITY = (
    AIActCategory.PROHIBITED,
    AIActCategory.HIGH,
    AIActCategory.TRANSPARENCY,
    AIActCategory.MINIMAL,
)
RISK_LEVEL = {
    AIActCategory.HIGH: Pilot.RiskLevel.HIGH,
    AIActCategory.TRANSPARENCY: Pilot.RiskLevel.LIMITED,
    AIActCategory.MINIMAL: Pilot.RiskLevel.MINIMAL,
}


@dataclass
class Assessment:
    category: str
    risk_level: str | None  # None: prohibited, there is no level to run at
    rules: list[RiskRule] = field(default_factory=list)

    @property
    def category_label(self) -> str:
        return str(AIActCategory(self.category).label)


def in_language(rule: RiskRule, name: str) -> str:
    """A rule's answer or explanation in the reader's language (French or English)."""
    french = (get_language() or "").startswith("fr")
    return getattr(rule, f"{name}_fr" if french else f"{name}_en")


def assess(keys: Sequence[str]) -> Assessment:
    """Derive the category and level from the ticked rule keys (one query).

    Raises ValidationFailed `unknown_risk_answer` for a key that is no rule. Prohibited
    answers are assessed, not refused: `validate` refuses them.
    """
    wanted = {str(k) for k in keys}
    rules = list(RiskRule.objects.filter(key__in=wanted))
    unknown = wanted - {r.key for r in rules}
    if unknown:
        raise ValidationFailed(
            _("Unknown risk answer: %(keys)s.") % {"keys": ", ".join(sorted(unknown))},
            code="unknown_risk_answer",
            field="risk_answers",
        )
    rules.sort(key=lambda r: (SEVERITY.index(AIActCategory(r.category)), r.question, r.position))
    category = AIActCategory(rules[0].category) if rules else AIActCategory.MINIMAL
    return Assessment(category=category, risk_level=RISK_LEVEL.get(category), rules=rules)


def validate(keys: Sequence[str] | None) -> Assessment | None:
    """Assess the answers, refusing a prohibited practice (None: not answered)."""
    if keys is None:
        return None
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise ValidationFailed(
            _("Risk answers must be a list of answer keys."),
            code="invalid",
            field="risk_answers",
        )
    assessment = assess(keys)
    if assessment.category == AIActCategory.PROHIBITED:
        banned = [r for r in assessment.rules if r.category == AIActCategory.PROHIBITED]
        raise ValidationFailed(
            _(
                "This use is a practice the EU AI Act prohibits (%(article)s: %(answer)s): "
                "it cannot be piloted."
            )
            % {"article": banned[0].article, "answer": in_language(banned[0], "answer")},
            code="prohibited_practice",
            field="risk_answers",
        )
    return assessment


def reasoning(assessment: Assessment) -> list[str]:
    """Why the category is what it is, one sentence per ticked answer, in the reader's language."""
    if not assessment.rules:
        return [
            _(
                "None of the answers falls under Art. 5, Art. 6 with Annex III or Art. 50: "
                "minimal risk. AI literacy (Art. 4) applies to every use: people using the tool "
                "are trained."
            )
        ]
    return [
        _("%(article)s — %(answer)s: %(explanation)s")
        % {
            "article": r.article,
            "answer": in_language(r, "answer"),
            "explanation": in_language(r, "explanation"),
        }
        for r in assessment.rules
    ]


def questions() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The questionnaire: (question key, question, [(answer key, answer)]) in order."""
    by_question: dict[str, list[tuple[str, str]]] = {q: [] for q in RiskRule.Question.values}
    for rule in RiskRule.objects.order_by("position", "key"):
        by_question[rule.question].append((rule.key, in_language(rule, "answer")))
    return [(q, str(RiskRule.Question(q).label), by_question[q]) for q in RiskRule.Question.values]


def explained(pilot: Pilot) -> dict | None:
    """A pilot's category and the reasons for it, for its page (None: not answered)."""
    if pilot.risk_answers is None:
        return None
    assessment = assess(pilot.risk_answers)
    return {
        "category": assessment.category,
        "label": assessment.category_label,
        "reasons": reasoning(assessment),
    }
