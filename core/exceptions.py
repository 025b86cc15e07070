"""Domain errors: each carries a machine-readable code and, where it applies, the field.

Forms, the admin and the API all show the same message for the same error.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base of every refusal made by a domain module."""

    code = "invalid"
    status = 400  # the HTTP status the API answers with

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        params: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.params = params or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "detail": str(self.message)}

    def __str__(self) -> str:
        return str(self.message)


class ValidationFailed(DomainError):
    """Input that breaks a rule; `field` names the input concerned."""

    code = "invalid"


class PermissionRefused(DomainError):
    code = "permission_denied"
    status = 403


class IllegalTransition(DomainError):
    code = "illegal_transition"
    status = 409


class StageChangedMeanwhile(DomainError):
    code = "stage_changed"
    status = 409

    def __init__(self, *, expected: str, actual: str) -> None:
        super().__init__(
            _(
                "The stage changed meanwhile: expected %(expected)s, it is now %(actual)s. "
                "Reload and try again."
            )
            % {"expected": expected, "actual": actual},
            field="stage",
        )


class GateFailed(DomainError):
    code = "gate_failed"
    status = 409

    def __init__(self, message: str, *, results: list) -> None:
        super().__init__(message, field="override_rationale")
        self.results = results

    def as_dict(self) -> dict:
        data = super().as_dict()
        data["gates"] = [r.as_dict() for r in self.results]
        return data
