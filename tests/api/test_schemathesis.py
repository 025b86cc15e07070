"""The API keeps its own contract: schemathesis runs every operation of the OpenAPI schema
(examples, coverage and fuzzing phases) with a token of each role, and no answer is a server
error, an undeclared status code or a body that violates its schema.

On the PostgreSQL leg only (the CI contract), within 4 minutes on a loaded 2-core machine:
six fuzzed examples per operation on top of the coverage phase's deterministic cases (about
4,000 requests, most of them the coverage cases of a draft's create and replace).
"""

from __future__ import annotations

import hashlib
import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.world import build_world

pytestmark = pytest.mark.postgres

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Who calls: each case goes to one caller, chosen from the case itself so that a replayed
# (shrunk) case goes to the same one. Ops and the lead write most: they reach the most code.
CALLERS = [
    ("ops", "write"),
    ("ops", "write"),
    ("ops", "write"),
    ("ops", "read"),
    ("lead", "write"),
    ("lead", "write"),
    ("lead", "read"),
    ("participant", "write"),
    ("participant", "read"),
    ("outsider", "write"),
    ("outsider", "read"),
    (None, None),
]

# The objects each route's `{id}` may name: a generated id is mapped onto one of them (or kept,
# to meet a 404), so that the fuzzing reaches real rows and their rules.
ROUTE_OBJECTS = {
    "pilots": ("draft", "proposed", "running", "legal_draft"),
    "evidence": ("draft", "proposed", "running", "legal_draft"),
    "rounds": ("round", "closed_round"),
    "prompts": ("prompt",),
    "tools": ("tool",),
    "declarations": ("declaration",),
    "breaches": ("breach",),
    "webhooks": ("webhook",),
}


def _generated_schema() -> dict:
    """The schema /api/v1/schema/ serves, generated in-process (no request, no database)."""
    generator = SchemaGenerator()
    rendered = OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True))
    return json.loads(rendered)


schema = schemathesis.openapi.from_dict(_generated_schema())
schema.app = get_wsgi_application()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for every operation, in a transaction rolled back at the end of the module;
    each operation's own writes are rolled back after it (the function's `db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _in_process(settings):
    """No throttling (thousands of requests per token), and the test's transaction kept open:
    Django's WSGI handler would close the connection at each request's end."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": None},
    }
    settings.ALLOWED_HOSTS = ["*"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _pick(case, choices: list | tuple, salt: str = ""):
    key = repr((salt, case.method, case.path, case.path_parameters, case.query, case.body))
    return choices[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(choices)]


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract_for_every_role(postgres, world, case):
    if case.path_parameters:
        resource = case.path.strip("/").split("/")[2 if "/v1/" in case.path else 1]
        names = ROUTE_OBJECTS.get(resource, ())
        for param, value in case.path_parameters.items():
            if isinstance(value, int) and names:
                # Kept as generated one time in (len + 1): an id that names nothing.
                name = _pick(case, [*names, None], salt=param)
                if name is not None:
                    case.path_parameters[param] = world.objects[name].pk
    caller, scope = _pick(case, CALLERS)
    headers = {}
    if caller is not None:
        headers["Authorization"] = f"Bearer {world.secrets[caller, scope]}"
    case.call_and_validate(headers=headers, checks=CHECKS)
