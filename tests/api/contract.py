"""Check one response against the OpenAPI schema the server serves (as schemathesis does)."""

from __future__ import annotations

import functools
import json

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator


@functools.cache
def generated_schema() -> dict:
    """The schema /api/v1/schema/ serves, generated in-process."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def conformance_errors(response, path: str, method: str) -> list[str]:
    """What is wrong with a response for the operation `method path` ([] when it conforms):
    an undeclared status code, or a JSON body its declared schema refuses."""
    schema = generated_schema()
    declared = schema["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    if status not in declared:
        return [f"status {status} is not declared (declared: {sorted(declared)})"]
    content = declared[status].get("content", {}).get("application/json")
    if content is None:
        return []
    # The whole document is the root, so that every "#/components/..." reference resolves.
    root = {
        **schema,
        "$ref": _pointer(
            "paths",
            path,
            method.lower(),
            "responses",
            status,
            "content",
            "application/json",
            "schema",
        ),
    }
    return [e.message for e in Draft202012Validator(root).iter_errors(response.json())]
