"""A pilot's change records, made readable: who, when, what (before → after), why.

The records keep raw values (ids, stage codes, rows as dicts); this module turns them into the
words the pilot page shows. Its queries do not grow with the history: the records in one, then
the people, teams and tools they name in one query each, whatever their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import changelog
from core.models import ChangeRecord

from .choices import DataClassification
from .lifecycle import ACTION_LABELS
from .models import AITool, Pilot, Stage, Team

ACTIONS = {
    "pilot.created": gettext_lazy("Proposal written"),
    "pilot.edited": gettext_lazy("Proposal edited by its lead"),
    "pilot.corrected": gettext_lazy("Proposal corrected by Ops"),
    "metric.key_corrected": gettext_lazy("Success metric's question corrected by Ops"),
    "guardrail.key_corrected": gettext_lazy("Guardrail's question corrected by Ops"),
    "guardrail.disabled": gettext_lazy("Guardrail disabled"),
    "breach.resolved": gettext_lazy("Guardrail breach resolved"),
    "review.recorded": gettext_lazy("Review recorded"),
    "declaration.handled": gettext_lazy("Tool declaration handled"),
    "question.added": gettext_lazy("Own question added"),
    "question.removed": gettext_lazy("Own question removed"),
    "pilot.concluded": gettext_lazy("Conclusion recorded"),
    "decision.requested": gettext_lazy("Decision requested by the lead"),
    "decision.answered": gettext_lazy("Request for a decision answered"),
    "decision.declined": gettext_lazy("Request for a decision declined by Ops"),
    "approval.scoped": gettext_lazy("Scope of the approved standard recorded"),
    "approval.recertified": gettext_lazy("Approved standard re-certified"),
    "template.created": gettext_lazy("Saved as a pilot template"),
}
EXTRA_LABELS = {
    "metrics": gettext_lazy("success metrics"),
    "guardrails": gettext_lazy("guardrails"),
    "participants": gettext_lazy("participants"),
    "enabled": gettext_lazy("enabled"),
    "resolved": gettext_lazy("resolved"),
    "overridden": gettext_lazy("gate overridden"),
    "key": gettext_lazy("key"),
    "text": gettext_lazy("text"),
    "action": gettext_lazy("asks to"),
    "use": gettext_lazy("approved use"),
    "max_data_classification": gettext_lazy("highest data classification"),
    "teams": gettext_lazy("teams"),
    "recertify_on": gettext_lazy("re-certify by"),
    "cloned_from": gettext_lazy("cloned from pilot"),
    "template": gettext_lazy("started from template"),
    "saved_from": gettext_lazy("saved from pilot"),
    "name": gettext_lazy("name"),
    "questions": gettext_lazy("own questions"),
}
EMPTY = "—"


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Entry:
    record: ChangeRecord
    action: str
    actor: str
    changes: list[Change] = field(default_factory=list)


def action_label(action: str) -> str:
    """The words of a record's action (a stage move is named by its lifecycle action)."""
    if action.startswith("stage."):
        name = action.removeprefix("stage.")
        return _("Stage move: %(action)s") % {"action": ACTION_LABELS.get(name, name)}
    return str(ACTIONS.get(action, action))


def entries(pilot: Pilot) -> list[Entry]:
    """The pilot's whole history, oldest first, in words (a bounded number of queries)."""
    records = list(changelog.history(pilot).order_by("created_at", "pk"))
    names = _Names(records)
    return [
        Entry(
            record=r,
            action=action_label(r.action),
            actor=names.person(r.actor_id, r.actor) if r.actor_id else _("the system"),
            changes=[
                Change(_label(key), names.value(key, pair[0]), names.value(key, pair[1]))
                for key, pair in r.changes.items()
                if isinstance(pair, list) and len(pair) == 2
            ],
        )
        for r in records
    ]


def _label(key: str) -> str:
    if key in EXTRA_LABELS:
        return str(EXTRA_LABELS[key])
    try:
        return str(Pilot._meta.get_field(key).verbose_name)
    except FieldDoesNotExist:
        return key.replace("_", " ")


class _Names:
    """Names of the people, teams and tools the records mention: one query per kind."""

    def __init__(self, records: list[ChangeRecord]) -> None:
        users: set[int] = set()
        teams: set[int] = set()
        tools: set[int] = set()
        for r in records:
            for key, pair in r.changes.items():
                if not isinstance(pair, list) or len(pair) != 2:
                    continue
                for value in pair:
                    if key == "lead" and isinstance(value, int):
                        users.add(value)
                    elif key == "participants" and isinstance(value, list):
                        users.update(v for v in value if isinstance(v, int))
                    elif key == "team" and isinstance(value, int):
                        teams.add(value)
                    elif key == "teams" and isinstance(value, list):
                        teams.update(v for v in value if isinstance(v, int))
                    elif key == "tool" and isinstance(value, int):
                        tools.add(value)
        self.users = (
            {u.pk: u for u in get_user_model().objects.filter(pk__in=users)} if users else {}
        )
        self.teams = (
            dict(Team.objects.filter(pk__in=teams).values_list("pk", "name")) if teams else {}
        )
        self.tools = (
            dict(AITool.objects.filter(pk__in=tools).values_list("pk", "name")) if tools else {}
        )

    def person(self, pk: int | None, user=None) -> str:
        user = user or self.users.get(pk)
        if user is None:
            return _("a deleted account")
        return user.get_full_name() or user.get_username()

    def value(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if key == "lead":
            return self.person(value)
        if key == "participants":
            return ", ".join(self.person(pk) for pk in value)
        if key == "team":
            return self.teams.get(value, EMPTY)
        if key == "teams" and isinstance(value, list):
            return ", ".join(self.teams.get(pk, EMPTY) for pk in value)
        if key == "max_data_classification" and value in DataClassification.values:
            return str(DataClassification(value).label)
        if key == "action" and value in ACTION_LABELS:
            return str(ACTION_LABELS[value])
        if key == "tool":
            return self.tools.get(value, EMPTY)
        if key in ("cloned_from", "saved_from", "template") and isinstance(value, int):
            return f"#{value}"
        if key == "stage":
            return str(Stage(value).label) if value in Stage.values else str(value)
        if key in ("metrics", "guardrails") and isinstance(value, list):
            return "; ".join(_row(key, row) for row in value) or EMPTY
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        try:
            model_field = Pilot._meta.get_field(key)
        except FieldDoesNotExist:
            return str(value)
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        return str(value)


def _row(key: str, row: Any) -> str:
    if not isinstance(row, dict):
        return str(row)
    if key == "metrics":
        return _("%(name)s (%(key)s): %(baseline)s → %(target)s") % {
            "name": row.get("name", ""),
            "key": row.get("question_key", ""),
            "baseline": row.get("baseline") if row.get("baseline") is not None else EMPTY,
            "target": row.get("target", ""),
        }
    text = row.get("description", "")
    if row.get("question_key"):
        rule = (row.get(k) or "" for k in ("question_key", "statistic", "comparator", "threshold"))
        text += " ({})".format(" ".join(str(part) for part in rule))
    return text
