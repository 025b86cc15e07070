"""Choices the rules need without the models (the registry and access rules, which models call)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataClassification(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    RESTRICTED = "restricted", _("Restricted")

    @classmethod
    def rank(cls, value: str) -> int:
        return [c.value for c in cls].index(value)


class Stage(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Proposed")
    SANDBOX = "sandbox", _("Sandbox")
    PILOT = "pilot", _("Pilot")
    APPROVED = "approved", _("Approved standard")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")
    RETIRED = "retired", _("Retired")


class TeamRole(models.TextChoices):
    """A person's role in a team (Membership.Role)."""

    LEAD = "lead", _("Team lead")
    MEMBER = "member", _("Member")


class TrainsOnData(models.TextChoices):
    """Whether a tool's vendor trains its models on what customers send (AITool)."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class AIActCategory(models.TextChoices):
    """The EU AI Act (Regulation (EU) 2024/1689) category a use falls in, most severe first."""

    PROHIBITED = "prohibited", _("Prohibited practice (Art. 5)")
    HIGH = "high", _("High risk (Art. 6, Annex III)")
    TRANSPARENCY = "transparency", _("Transparency duties (Art. 50)")
    MINIMAL = "minimal", _("Minimal risk")


class BudgetAction(models.TextChoices):
    """What the budget guardrail does when a pilot's projected cost exceeds its cap."""

    FLAG = "flag", _("Flag it to Ops")
    PAUSE = "pause", _("Pause the pilot")


class CostModel(models.TextChoices):
    """How a tool is paid for (AITool.cost_model)."""

    NONE = "none", _("Unknown or free")
    PER_SEAT = "per_seat", _("Per seat per month")
    FLAT = "flat", _("Flat fee per month")
