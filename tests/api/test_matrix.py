"""The permission matrix: every API route × every method × each kind of caller, with a read
and a write token.

The routes are read from the URL resolver, so a new endpoint without a row here fails
`test_every_route_and_method_has_a_row`. Expected answers are those of a write token; a read
token gets the same on a safe method and 403 (read_only_token) on any other. 404 where the
caller may not know the thing exists (another team's draft, someone else's prompt); 403 where
they may see it but not do this; 401 without an identity.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.api.world import CALLERS, build_world

pytestmark = pytest.mark.django_db

SAFE = {"get", "head", "options"}


def api_routes() -> set[tuple[str, str]]:
    """(route, method) of every DRF view under /api/, read from the URL resolver.

    A route is written as its pattern with `{name}` for each parameter, e.g.
    `api/v1/pilots/{pk}/submit/`; the format-suffix copies DRF adds are left out.
    """
    found: set[tuple[str, str]] = set()

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
                continue
            assert isinstance(p, URLPattern)
            route = re.sub(r"\^|\$|\\", "", route)
            route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            if not route.startswith("api/") or "{format}" in route:
                continue
            view = p.callback
            actions = getattr(view, "actions", None)
            if actions:
                # DRF adds `head` to a viewset's actions at its first GET: HEAD is GET's twin.
                methods = set(actions) - {"head", "options"}
            else:
                cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
                methods = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
            found.update((route, m) for m in methods)

    walk(get_resolver().url_patterns, "")
    return found


def draft_input(world, **extra) -> dict:
    today = datetime.date.today()
    return {
        "team": world.objects["team"].pk,
        "title": "Reply drafts",
        "tool": world.objects["tool"].pk,
        "problem": "Replies are slow.",
        "hypothesis_intervention": "drafting replies",
        "hypothesis_outcome": "faster replies",
        "hypothesis_who": "agents",
        "hypothesis_signal": "reply time",
        "data_classification": "internal",
        "risk_level": "limited",
        "planned_start": str(today + datetime.timedelta(days=7)),
        "planned_end": str(today + datetime.timedelta(days=97)),
        **extra,
    }


TOOL = {
    "name": "New",
    "vendor": "V",
    # Approving needs the transparency facts (tests/pilots/test_transparency.py).
    "approval_status": "under_evaluation",
    "max_data_classification": "internal",
}


# A public address written as an IP: registering it resolves nothing (no DNS in the tests).
WEBHOOK = {"name": "Tickets", "url": "https://93.184.215.14/hook", "events": ["breach.opened"]}


def _body(world, name):
    return {
        None: None,
        "draft": draft_input(world),
        "title": {"title": "x"},
        "move": {"action": "submit", "expected_stage": "draft"},
        "submit": {"expected_stage": "draft"},
        "review": {"kind": "security", "outcome": "cleared"},
        "note": {"note": "Handled."},
        "declare": {"tool_name": "Notes", "used_for": "Minutes", "data_classification": "public"},
        "answers": {"answers": {}},
        "open": {"pilot": world.objects["running"].pk},
        "tool": TOOL,
        "tool_put": {**TOOL, "name": "Copilot"},
        "notes": {"notes": "x"},
        "webhook": WEBHOOK,
        "webhook_put": {**WEBHOOK, "name": "Chat", "kind": "slack"},
        "deactivate": {"active": False},
    }[name]


# (route, method) -> [(the object its id names, its body, what a write token of each caller gets:
#   anonymous, outsider, participant, lead of the pilot, lead of another team, Ops)].
# The draft belongs to the lead's team; the participant takes part in it; the declaration is
# the participant's; the prompt is the participant's.
CASES = {
    ("api/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/evidence/{pilot_id}/", "get"): [
        ("draft", None, "401 404 200 200 404 200"),
        ("running", None, "401 200 200 200 200 200"),
    ],
    ("api/pilots/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/pilots/{pk}/", "get"): [
        ("draft", None, "401 404 200 200 404 200"),
        ("running", None, "401 200 200 200 200 200"),
    ],
    ("api/pilots/{pk}/move/", "post"): [("draft", "move", "401 404 403 201 404 201")],
    ("api/pilots/{pk}/stage-changes/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/rounds/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/rounds/{pk}/", "get"): [("round", None, "401 200 200 200 200 200")],
    ("api/schema/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/tools/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/tools/{pk}/", "get"): [("tool", None, "401 200 200 200 200 200")],
    ("api/v1/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/breaches/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/breaches/{pk}/", "get"): [("breach", None, "401 200 200 200 200 200")],
    ("api/v1/breaches/{pk}/resolve/", "post"): [("breach", "note", "401 403 403 403 403 200")],
    ("api/v1/declarations/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/declarations/", "post"): [(None, "declare", "401 201 201 201 201 201")],
    ("api/v1/declarations/{pk}/", "get"): [("declaration", None, "401 404 200 404 404 200")],
    ("api/v1/declarations/{pk}/dismiss/", "post"): [
        ("declaration", "note", "401 404 403 404 404 200")
    ],
    ("api/v1/declarations/{pk}/register-tool/", "post"): [
        ("declaration", None, "401 404 403 404 404 201")
    ],
    ("api/v1/declarations/{pk}/turn-into-pilot/", "post"): [
        ("declaration", None, "401 404 403 404 404 201")
    ],
    ("api/v1/docs/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/pilots/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/pilots/", "post"): [(None, "draft", "401 403 403 201 403 201")],
    ("api/v1/pilots/{pk}/", "get"): [
        ("draft", None, "401 404 200 200 404 200"),
        ("running", None, "401 200 200 200 200 200"),
    ],
    ("api/v1/pilots/{pk}/", "patch"): [("draft", "title", "401 404 403 200 404 403")],
    ("api/v1/pilots/{pk}/", "put"): [("draft", "draft", "401 404 403 200 404 403")],
    ("api/v1/pilots/{pk}/changes/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/v1/pilots/{pk}/evidence/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/v1/pilots/{pk}/report/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/v1/pilots/{pk}/results/", "get"): [
        ("draft", None, "401 404 200 200 404 200"),
        ("running", None, "401 200 200 200 200 200"),
    ],
    ("api/v1/pilots/{pk}/reviews/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/v1/pilots/{pk}/reviews/", "post"): [("draft", "review", "401 404 403 403 404 201")],
    ("api/v1/pilots/{pk}/submit/", "post"): [("draft", "submit", "401 404 403 201 404 201")],
    ("api/v1/pilots/{pk}/transitions/", "get"): [("draft", None, "401 404 200 200 404 200")],
    ("api/v1/pilots/{pk}/transitions/", "post"): [("draft", "move", "401 404 403 201 404 201")],
    ("api/v1/prompts/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/prompts/{pk}/answer/", "post"): [("prompt", "answers", "401 404 400 404 404 404")],
    ("api/v1/rounds/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/rounds/open/", "post"): [(None, "open", "401 403 403 403 403 201")],
    ("api/v1/rounds/{pk}/", "get"): [("round", None, "401 200 200 200 200 200")],
    ("api/v1/rounds/{pk}/close/", "post"): [("round", None, "401 403 403 403 403 200")],
    ("api/v1/rounds/{pk}/remind/", "post"): [("round", None, "401 403 403 403 403 400")],
    ("api/v1/schema/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/tools/", "get"): [(None, None, "401 200 200 200 200 200")],
    ("api/v1/tools/", "post"): [(None, "tool", "401 403 403 403 403 201")],
    ("api/v1/tools/{pk}/", "get"): [("tool", None, "401 200 200 200 200 200")],
    ("api/v1/tools/{pk}/", "patch"): [("tool", "notes", "401 403 403 403 403 200")],
    ("api/v1/tools/{pk}/", "put"): [("tool", "tool_put", "401 403 403 403 403 200")],
    # Webhooks: Ops only, the whole resource (403 to anyone else, whatever the id names).
    ("api/v1/webhooks/", "get"): [(None, None, "401 403 403 403 403 200")],
    ("api/v1/webhooks/", "post"): [(None, "webhook", "401 403 403 403 403 201")],
    ("api/v1/webhooks/{pk}/", "get"): [("webhook", None, "401 403 403 403 403 200")],
    ("api/v1/webhooks/{pk}/", "patch"): [("webhook", "deactivate", "401 403 403 403 403 200")],
    ("api/v1/webhooks/{pk}/", "put"): [("webhook", "webhook_put", "401 403 403 403 403 200")],
    ("api/v1/webhooks/{pk}/", "delete"): [("webhook", None, "401 403 403 403 403 204")],
    ("api/v1/webhooks/{pk}/deliveries/", "get"): [("webhook", None, "401 403 403 403 403 200")],
    ("api/v1/webhooks/{pk}/rotate-secret/", "post"): [("webhook", None, "401 403 403 403 403 200")],
}


def _call(client: APIClient, method: str, url: str, body):
    if method in SAFE:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


def as_caller(world, caller: str, scope: str) -> APIClient:
    client = APIClient()
    if caller != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.secrets[caller, scope]}")
    return client


def _url(world, route: str, obj: str | None) -> str:
    pk = world.objects[obj].pk if obj else None
    return "/" + route.format(pk=pk, pilot_id=pk)


def answers(world, route: str, method: str, obj: str | None, body: str | None, scope: str):
    url = _url(world, route, obj)
    got = []
    for caller in CALLERS:
        # Each call in a savepoint rolled back: no caller meets what another one did.
        with transaction.atomic():
            response = _call(as_caller(world, caller, scope), method, url, _body(world, body))
            transaction.set_rollback(True)
        got.append(response.status_code)
    return tuple(got)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, rolled back at its end (each call is rolled back too)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _unthrottled(settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": None},
    }


def test_every_route_and_method_has_a_row():
    routes = api_routes()
    assert routes - set(CASES) == set(), "API routes without a row in the permission matrix"
    assert set(CASES) - routes == set(), "matrix rows for routes that no longer exist"


@pytest.mark.parametrize(
    "route,method,obj,body,expected",
    [(r, m, *case) for (r, m), cases in CASES.items() for case in cases],
)
def test_each_caller_gets_what_the_access_rules_allow(world, route, method, obj, body, expected):
    expected = tuple(int(code) for code in expected.split())
    got = answers(world, route, method, obj, body, "write")
    assert got == expected, dict(zip(CALLERS, got, strict=True))
    # A read token: the same on a safe method, 403 (read_only_token) on any other.
    read = expected if method in SAFE else tuple(401 if c == 401 else 403 for c in expected)
    got = answers(world, route, method, obj, body, "read")
    assert got == read, dict(zip(CALLERS, got, strict=True))


DETAIL = {
    # list route -> (detail route, model whose rows the two show)
    "api/v1/pilots/": ("api/v1/pilots/{pk}/", "pilots.Pilot"),
    "api/pilots/": ("api/pilots/{pk}/", "pilots.Pilot"),
    "api/v1/rounds/": ("api/v1/rounds/{pk}/", "feedback.FeedbackRound"),
    "api/rounds/": ("api/rounds/{pk}/", "feedback.FeedbackRound"),
    "api/v1/tools/": ("api/v1/tools/{pk}/", "pilots.AITool"),
    "api/tools/": ("api/tools/{pk}/", "pilots.AITool"),
    "api/v1/breaches/": ("api/v1/breaches/{pk}/", "pilots.GuardrailBreach"),
    "api/v1/declarations/": ("api/v1/declarations/{pk}/", "pilots.ToolDeclaration"),
    "api/v1/webhooks/": ("api/v1/webhooks/{pk}/", "webhooks.Endpoint"),
}


def test_every_list_with_a_detail_is_checked_for_leaks():
    routes = {route for route, method in api_routes() if method == "get"}
    lists = {r for r in routes if not r.endswith("}/") and r.rstrip("/") + "/{pk}/" in routes}
    assert lists == set(DETAIL)


@pytest.mark.parametrize("list_route", sorted(DETAIL))
def test_a_list_shows_exactly_what_its_detail_shows(world, list_route):
    detail_route, model = DETAIL[list_route]
    rows = apps.get_model(model).objects.values_list("pk", flat=True)
    for caller in CALLERS[1:]:
        client = as_caller(world, caller, "read")
        answer = client.get(f"/{list_route}?limit=200")
        if answer.status_code == 403:
            # A resource refused as a whole (webhooks: Ops only): every detail is refused too.
            for pk in rows:
                assert client.get("/" + detail_route.format(pk=pk)).status_code == 403
            continue
        listed = {row["id"] for row in answer.json()["results"]}
        for pk in rows:
            detail = client.get("/" + detail_route.format(pk=pk)).status_code
            assert detail in (200, 404), (caller, pk, detail)
            assert (pk in listed) == (detail == 200), (caller, model, pk)


@pytest.mark.parametrize("route,method", sorted(CASES))
def test_what_the_detail_hides_is_a_404_on_every_route_under_it(world, route, method):
    """Never a 403 on an object whose detail is a 404: that would tell it exists."""
    detail = re.sub(r"^(api/(?:v1/)?[\w-]+/\{\w+\}/).*$", r"\1", route)
    if (detail, "get") not in CASES or (detail == route and method == "get"):
        return  # no detail to compare with (a prompt's answer: its own row says 404)
    for obj, _body, expected in CASES[route, method]:
        if obj is None:
            continue
        detail_url = _url(world, detail, obj)
        for caller, code in zip(CALLERS, expected.split(), strict=True):
            hidden = as_caller(world, caller, "write").get(detail_url).status_code == 404
            if hidden:
                assert code == "404", (caller, route, method, obj)
