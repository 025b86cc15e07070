"""One error format for every 4xx: {code, field, detail}.

Domain errors keep their own code and field (the ones the web shows); DRF's own refusals
(authentication, permission, not found, throttled, parse errors, input validation) take the
same shape. Input errors name the field like the web form does (`metrics-0-target`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError

# The DRF exceptions that answer 401 are those two; they keep their challenge header.
_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def first_error(detail: Any, path: tuple = ()) -> tuple[str | None, Any]:
    """Return (field, error) of the first error in a nested ValidationError detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if value:
                return first_error(value, (*path, key))
        return None, None
    if isinstance(detail, list):
        for i, value in enumerate(detail):
            if isinstance(value, dict | list):
                if value:
                    return first_error(value, (*path, i))
            elif value:
                return first_error(value, path)
        return None, None
    names = [str(p) for p in path if p != serializers.api_settings.NON_FIELD_ERRORS_KEY]
    return ("-".join(names) or None), detail


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every refusal with {code, field, detail} (and `gates` for a failed gate)."""
    if isinstance(exc, DomainError):
        response = Response(exc.as_dict(), status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, serializers.ValidationError):
        field, error = first_error(exc.detail)
        code = getattr(error, "code", None) or "invalid"
        body = {"code": code, "field": field, "detail": str(error)}
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = {"code": code, "field": None, "detail": str(exc.detail)}
    new = Response(body, status=response.status_code)
    for name in _HEADERS:
        if name in response:
            new[name] = response[name]
    return new
