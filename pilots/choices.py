"""Choices the registry's rules need without the models (which call those rules)."""

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
