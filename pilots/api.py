"""REST API for pilots (read-only viewsets; writes are explicit actions calling the domain)."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError


def exception_handler(exc, context):
    """Map domain errors to 400/403/409 with the same code and message the UI shows."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    return drf_exception_handler(exc, context)
