"""The OpenAPI contract: every operation declares the errors it can answer, in one format."""

from __future__ import annotations

from drf_spectacular import openapi
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every 4xx: a machine-readable code, the field concerned (or null), a readable detail."""

    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    gates = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="A failed gate's criteria."
    )


SAFE = ("GET", "HEAD", "OPTIONS")


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error responses each operation may give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method not in SAFE:
            codes.append("409")
        for code in codes:
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code))
        return responses


def mark_deprecated(result: dict, generator, request, public) -> dict:
    """Mark the routes under /api/ outside /api/v1/ as deprecated aliases."""
    for path, operations in result.get("paths", {}).items():
        if path.startswith("/api/") and not path.startswith("/api/v1/"):
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["deprecated"] = True
                    operation["description"] = (
                        operation.get("description", "")
                        + "\n\nDeprecated: use the same route under /api/v1/."
                    ).strip()
    return result
