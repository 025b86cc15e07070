"""What a token's scope allows: a read token never changes anything."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiToken


class TokenScope(BasePermission):
    """Refuse unsafe methods to a read-only token (403, code read_only_token)."""

    message = _("This token is read-only: create a write token to make changes.")
    code = "read_only_token"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and not token.writes:
            return request.method in SAFE_METHODS
        return True
