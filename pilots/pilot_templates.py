"""Starting from what worked: pilot templates, and a new proposal from a template or a pilot.

Ops save a pilot as a template, or write one in the admin: the hypothesis skeleton, the tool,
the data and risk answers, the cadence, and the success metrics, guardrails and own questions
as data. Every template is checked as a proposal's rows are (`proposals.validate_measures`: a
metric's question must be asked, by the default questionnaire or by the template's own
questions), and every save writes a change record.

A lead starts a proposal from a template or clones a pilot: `start_from_template` and
`start_from_pilot` only say what the propose form is pre-filled with. Nothing is written until
the lead saves, through `proposals.create_draft`, which recreates the own questions (feedback's
functions, registered with `question_keys`) and records where the draft started from.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed

from . import access, proposals, question_keys, registry
from .models import AITool, Guardrail, Pilot, PilotTemplate, SuccessMetric

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The pilot fields a template pre-fills (the title, team, problem, dates and people are the
# new pilot's own).
TEMPLATE_FIELDS = (
    "tool",
    "hypothesis_intervention",
    "hypothesis_outcome",
    "hypothesis_who",
    "hypothesis_signal",
    "data_classification",
    "data_description",
    "risk_level",
    "anonymous_feedback",
    "cadence",
    "cadence_weekday",
    "response_window_days",
)
# What the change record of a template keeps.
RECORDED_FIELDS = ("name", "description", *TEMPLATE_FIELDS, "metrics", "guardrails", "questions")
# A clone starts this many days from today, and lasts as long as the pilot it copies.
CLONE_STARTS_IN_DAYS = 7


@dataclass
class Start:
    """What the propose form is pre-filled with: the pilot's fields, rows and own questions."""

    fields: dict[str, Any]
    metrics: list[dict[str, Any]]
    guardrails: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    # Kept in the new draft's change record: {"template": id} or {"cloned_from": id}.
    origin: dict[str, Any]
    participants: list[int] = field(default_factory=list)
    team: int | None = None


# ---------------------------------------------------------------------------------------------
# Writing templates (Ops)


def save_from_pilot(
    pilot_id: int, *, actor: AbstractBaseUser, name: str, description: str = ""
) -> PilotTemplate:
    """Save a pilot as a template: its hypothesis, tool, data and risk, cadence, success
    metrics, enabled guardrails and own questions. Ops only; the name must be new."""
    _check_actor(actor)
    pilot = Pilot.objects.select_related("tool").get(pk=pilot_id)
    fields = {name_: getattr(pilot, name_) for name_ in TEMPLATE_FIELDS}
    metrics = [
        _plain_row(row) for row in pilot.metrics.order_by("pk").values(*proposals.METRIC_FIELDS)
    ]
    guardrails = [
        _plain_row(row)
        for row in pilot.guardrails.enabled().order_by("pk").values(*proposals.GUARDRAIL_FIELDS)
    ]
    questions = question_keys.own_questions().read(pilot)
    return _write(
        None,
        actor=actor,
        name=name,
        description=description,
        fields=fields,
        metrics=metrics,
        guardrails=guardrails,
        questions=questions,
        source_pilot=pilot,
    )


def write(
    template_id: int | None,
    *,
    actor: AbstractBaseUser,
    name: str,
    description: str = "",
    fields: dict[str, Any],
    metrics: list,
    guardrails: list,
    questions: list,
) -> PilotTemplate:
    """Create (template_id None) or change a template written by Ops, e.g. in the admin.

    Raises ValidationFailed naming the field (`metrics-0-question_key`, `name`…) or
    PermissionRefused (not Ops).
    """
    _check_actor(actor)
    return _write(
        template_id,
        actor=actor,
        name=name,
        description=description,
        fields=fields,
        metrics=metrics,
        guardrails=guardrails,
        questions=questions,
    )


def validate(
    fields: dict[str, Any], *, metrics: list, guardrails: list, questions: list
) -> tuple[list[dict], list[dict]]:
    """Check a template as a proposal is checked; return its rows as a proposal takes them.

    Errors name the field: a pilot field, or a row's (`metrics-0-question_key`,
    `guardrails-1-statistic`, `questions-0-key`).
    """
    tool = fields.get("tool")
    if tool is not None:
        registry.validate_tool_and_data(tool, fields.get("data_classification") or "internal")
    low, high = proposals.RESPONSE_WINDOW_DAYS
    window = fields.get("response_window_days")
    if window is not None and not low <= window <= high:
        raise ValidationFailed(
            _("Give participants from %(low)d to %(high)d days to answer.")
            % {"low": low, "high": high},
            code="window_out_of_range",
            field="response_window_days",
        )
    metric_rows = [_metric_row(row, i) for i, row in enumerate(_list(metrics, "metrics"))]
    guardrail_rows = [
        _guardrail_row(row, i) for i, row in enumerate(_list(guardrails, "guardrails"))
    ]
    proposals.validate_measures(
        proposals.Proposal(
            fields={},
            metrics=metric_rows,
            guardrails=guardrail_rows,
            questions=_list(questions, "questions"),
        )
    )
    return metric_rows, guardrail_rows


def _check_actor(actor: AbstractBaseUser) -> None:
    if not access.may_manage_templates(actor):
        raise PermissionRefused(_("Only Ops can write pilot templates."), code="not_ops")


def _write(
    template_id: int | None,
    *,
    actor: AbstractBaseUser,
    name: str,
    description: str,
    fields: dict[str, Any],
    metrics: list,
    guardrails: list,
    questions: list,
    source_pilot: Pilot | None = None,
) -> PilotTemplate:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the template."), code="required", field="name")
    metric_rows, guardrail_rows = validate(
        fields, metrics=metrics, guardrails=guardrails, questions=questions
    )
    with transaction.atomic():
        if template_id is None:
            template = PilotTemplate(created_by=actor, source_pilot=source_pilot)
            before: dict[str, Any] = {}
        else:
            template = PilotTemplate.objects.select_for_update().get(pk=template_id)
            before = _state(template)
        template.name = name
        template.description = (description or "").strip()
        for name_ in TEMPLATE_FIELDS:
            if name_ in fields:
                setattr(template, name_, fields[name_])
        template.metrics = [_plain_row(row) for row in metric_rows]
        template.guardrails = [_plain_row(row) for row in guardrail_rows]
        template.questions = changelog.plain(list(questions))
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError as e:
            raise ValidationFailed(
                _("A template named “%(name)s” already exists.") % {"name": name},
                code="duplicate_name",
                field="name",
            ) from e
        changes = changelog.diff(before, _state(template))
        if source_pilot is not None:
            changes["saved_from"] = [None, source_pilot.pk]
        if changes:
            changelog.record(
                "template.created" if template_id is None else "template.changed",
                subject=template,
                scope=source_pilot,
                actor=actor,
                changes=changes,
            )
    return template


def _state(template: PilotTemplate) -> dict[str, Any]:
    return changelog.snapshot(template, RECORDED_FIELDS)


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: changelog.plain(v) for k, v in row.items()}


def _list(value: Any, name: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationFailed(
            _("Give a list of rows (a JSON array)."), code="not_a_list", field=name
        )
    return value


def _row_error(message: str, prefix: str, name: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(message, code=code, field=f"{prefix}{name}")


def _decimal(row: dict, name: str, prefix: str, *, required: bool) -> Decimal | None:
    value = row.get(name)
    if value in (None, ""):
        if required:
            raise _row_error(_("This field is required."), prefix, name, "required")
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as e:
        raise _row_error(_("Give a number."), prefix, name, "invalid_number") from e
    if not number.is_finite() or number != number.quantize(Decimal("0.01")) or abs(number) >= 1e8:
        raise _row_error(
            _("Give a number with at most two decimals."), prefix, name, "invalid_number"
        )
    return number


def _text(row: dict, name: str, prefix: str, *, required: bool, max_length: int) -> str:
    value = str(row.get(name) or "").strip()
    if required and not value:
        raise _row_error(_("This field is required."), prefix, name, "required")
    if len(value) > max_length:
        raise _row_error(
            _("Keep it under %(max)d characters.") % {"max": max_length}, prefix, name, "too_long"
        )
    return value


def _choice(row: dict, name: str, prefix: str, choices, default: str, *, blank=False) -> str:
    value = row.get(name)
    if value in (None, ""):
        return "" if blank else default
    if value not in choices.values:
        raise _row_error(
            _("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)},
            prefix,
            name,
            "invalid_choice",
        )
    return value


def _unknown_fields(row: Any, allowed: tuple[str, ...], prefix: str) -> dict:
    if not isinstance(row, dict):
        raise ValidationFailed(
            _("Each row is an object of fields."), code="invalid_row", field=prefix.rstrip("-")
        )
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise _row_error(
            _("Unknown field: %(names)s.") % {"names": ", ".join(unknown)},
            prefix,
            unknown[0],
            "unknown_field",
        )
    return row


def _metric_row(row: Any, i: int) -> dict[str, Any]:
    prefix = f"metrics-{i}-"
    row = _unknown_fields(row, proposals.METRIC_FIELDS, prefix)
    min_responses = row.get("min_responses", 10)
    if not isinstance(min_responses, int) or isinstance(min_responses, bool) or min_responses < 1:
        raise _row_error(
            _("Give a whole number of at least 1."), prefix, "min_responses", "invalid_number"
        )
    return {
        "name": _text(row, "name", prefix, required=True, max_length=120),
        "question_key": _text(row, "question_key", prefix, required=True, max_length=64),
        "direction": _choice(
            row, "direction", prefix, SuccessMetric.Direction, SuccessMetric.Direction.HIGHER
        ),
        "baseline": _decimal(row, "baseline", prefix, required=False),
        "target": _decimal(row, "target", prefix, required=True),
        "min_responses": min_responses,
    }


def _guardrail_row(row: Any, i: int) -> dict[str, Any]:
    prefix = f"guardrails-{i}-"
    row = _unknown_fields(row, proposals.GUARDRAIL_FIELDS, prefix)
    return {
        "kind": _choice(row, "kind", prefix, Guardrail.Kind, Guardrail.Kind.POLICY),
        "description": _text(row, "description", prefix, required=True, max_length=300),
        "forbids_data_exposure": bool(row.get("forbids_data_exposure", False)),
        "question_key": _text(row, "question_key", prefix, required=False, max_length=64),
        "statistic": _choice(row, "statistic", prefix, Guardrail.Statistic, "", blank=True),
        "comparator": _choice(row, "comparator", prefix, Guardrail.Comparator, "", blank=True),
        "threshold": _decimal(row, "threshold", prefix, required=False),
        "action": _choice(row, "action", prefix, Guardrail.Action, Guardrail.Action.FLAG),
    }


# ---------------------------------------------------------------------------------------------
# Starting a proposal (nothing written)


def usable_templates():
    """The templates a lead may start from (all of them), with their tool (one query)."""
    return PilotTemplate.objects.select_related("tool").order_by("name")


def start_from_template(template: PilotTemplate) -> Start:
    """What a proposal started from this template is pre-filled with.

    A tool that is no longer allowed is left out (the lead chooses another), so the form
    never pre-fills a choice it would refuse.
    """
    fields = {name: getattr(template, name) for name in TEMPLATE_FIELDS}
    tool = template.tool
    if tool is not None and tool.approval_status == AITool.ApprovalStatus.NOT_ALLOWED:
        fields["tool"] = None
    return Start(
        fields=fields,
        metrics=[dict(row) for row in template.metrics],
        guardrails=[dict(row) for row in template.guardrails],
        questions=[dict(row) for row in template.questions],
        origin={"template": template.pk},
    )


def start_from_pilot(pilot: Pilot, *, user: AbstractBaseUser, today: datetime.date) -> Start:
    """What "clone this pilot" pre-fills: the pilot's content, as a new pilot of the lead's.

    Title "Copy of …"; the problem, hypothesis, tool, data, risk, cadence, metrics, enabled
    guardrails and own questions as they are; dates moved to start a week from today for as
    long as the original ran; the team and participants kept only when the user leads the
    pilot's team (another team's people are not theirs to enrol). Raises PermissionRefused
    when the user may not clone it (`access.may_clone`).
    """
    if not access.may_clone(user, pilot):
        raise PermissionRefused(
            _("You can clone a pilot you lead, or a concluded pilot."), code="not_clonable"
        )
    fields = {name: getattr(pilot, name) for name in TEMPLATE_FIELDS}
    fields["title"] = (_("Copy of %(title)s") % {"title": pilot.title})[:200]
    fields["problem"] = pilot.problem
    length = max((pilot.planned_end - pilot.planned_start).days, 0)
    start = today + datetime.timedelta(days=CLONE_STARTS_IN_DAYS)
    fields["planned_start"] = start
    fields["planned_end"] = start + datetime.timedelta(days=length)
    if pilot.tool.approval_status == AITool.ApprovalStatus.NOT_ALLOWED:
        fields["tool"] = None
    same_team = access.leads_team(user, pilot.team_id)
    return Start(
        fields=fields,
        metrics=list(pilot.metrics.order_by("pk").values(*proposals.METRIC_FIELDS)),
        guardrails=list(
            pilot.guardrails.enabled().order_by("pk").values(*proposals.GUARDRAIL_FIELDS)
        ),
        questions=question_keys.own_questions().read(pilot),
        origin={"cloned_from": pilot.pk},
        participants=(
            list(pilot.participations.values_list("user_id", flat=True)) if same_team else []
        ),
        team=pilot.team_id if same_team else None,
    )


def delete(template_id: int, *, actor: AbstractBaseUser) -> None:
    """Delete a template (Ops); pilots started from it keep everything they copied."""
    _check_actor(actor)
    with transaction.atomic():
        template = PilotTemplate.objects.select_for_update().filter(pk=template_id).first()
        if template is None:
            return
        changelog.record(
            "template.deleted",
            subject=template,
            actor=actor,
            changes=changelog.diff(_state(template), {}),
        )
        template.delete()
