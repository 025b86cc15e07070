"""Throttle API use per token, counted in the default cache (Redis when configured)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Each token has its own budget (`token` in DEFAULT_THROTTLE_RATES); sessions are not
    throttled here (they are people at a browser, and sign-in is throttled by axes)."""

    scope = "token"

    def get_rate(self) -> str | None:
        # Read now rather than at import, so settings overrides (tests) apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
