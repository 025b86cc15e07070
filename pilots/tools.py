"""Writing the AI tool registry: Ops add a tool or change one, with a change record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from core.ops import is_ops

from . import budget
from .models import AITool
from .transparency import REQUIRED_FACTS, validate_approval

TRANSPARENCY_FIELDS = ("model_version", *REQUIRED_FACTS)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TOOL_FIELDS = (
    "name",
    "vendor",
    "approval_status",
    "max_data_classification",
    "notes",
    *TRANSPARENCY_FIELDS,
    "cost_model",
    "cost_amount",
)


def save_tool(tool_id: int | None, *, actor: AbstractBaseUser, fields: dict[str, Any]) -> AITool:
    """Add a tool (tool_id None) or change the given fields of one (Ops only)."""
    if not is_ops(actor):
        raise PermissionRefused(_("Only Ops can change the AI tool registry."), code="not_ops")
    unknown = set(fields) - set(TOOL_FIELDS)
    if unknown:
        raise ValueError(f"Not tool fields: {sorted(unknown)}")
    with transaction.atomic():
        if tool_id is None:
            tool, before = AITool(), {}
        else:
            tool = AITool.objects.select_for_update().get(pk=tool_id)
            before = changelog.snapshot(tool, TOOL_FIELDS)
        for name, value in fields.items():
            setattr(tool, name, value)
        # Asked first for its own code (full_clean asks it too, for the admin's form).
        validate_approval(tool)
        try:
            tool.full_clean()
        except ValidationError as e:
            field, messages = next(iter(e.message_dict.items()))
            raise ValidationFailed(
                messages[0], code="invalid", field=None if field == "__all__" else field
            ) from e
        tool.save()
        changes = changelog.diff(before, changelog.snapshot(tool, TOOL_FIELDS))
        changelog.record(
            "tool.added" if tool_id is None else "tool.changed",
            subject=tool,
            actor=actor,
            changes=changes,
        )
        if tool_id is not None and {"cost_model", "cost_amount"} & set(changes):
            # The projected cost of the tool's pilots moved: their budget guardrails decide.
            budget.enforce_all(list(tool.pilots.values_list("pk", flat=True)))
    return tool
