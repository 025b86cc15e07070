"""axe-core (WCAG 2.1 A and AA) on every page type, as the role that works in it: no violation.

One test per role: it builds the world once, signs one browser context in, and visits each of
the role's pages (forms with their errors shown, admin action pages reached through their
changelist), running axe on each at 1280 and again at 320 pixels wide. A failure lists every
violation of every page — rule, impact, and the selectors of the offending elements — so one
run shows all there is to fix. No axe rule is disabled.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import connections

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.pages_support import ROLES, build_world, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 320, "height": 800}
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
# (role, browser locale): the answer page, reached without signing in, in both languages.
RUNS = [
    ("anonymous", "en-GB"),
    ("anonymous", "fr-FR"),
    ("lead", "en-GB"),
    ("participant", "en-GB"),
    ("champion", "en-GB"),
    ("ops", "en-GB"),
]


def wcag_violations(axe: Axe, page, page_name: str) -> list[str]:
    """Run axe on the page as it is; one line per violated rule, with its elements."""
    lines = []
    for v in axe.run(page, options=AXE_OPTIONS).response["violations"]:
        targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:8])
        more = f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else ""
        lines.append(
            f"{page_name}: {v['id']} ({v['impact']}, {len(v['nodes'])} elements) "
            f"— {v['help']} — {targets}{more}"
        )
    return lines


@pytest.mark.parametrize(("role", "locale"), RUNS, ids=[f"{r}-{loc[:2]}" for r, loc in RUNS])
def test_every_page_of_a_role_has_no_wcag_violation(role, locale, chromium, live_server):
    username, visits = ROLES[role]
    world = build_world()
    axe = Axe()
    context = chromium.new_context(base_url=live_server.url, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    found: list[str] = []
    try:
        if username:
            sign_in(context, live_server.url, username)
        page = context.new_page()
        for visit in visits:
            page.set_viewport_size(WIDE)
            visit.go(page, world)
            found.extend(wcag_violations(axe, page, visit.name))
            # The same page on a small phone: what wraps or overflows must stay legible.
            page.set_viewport_size(PHONE)
            found.extend(wcag_violations(axe, page, f"{visit.name} at {PHONE['width']}px"))
    finally:
        context.close()
        connections.close_all()
    assert not found, "\n".join([f"{len(found)} WCAG violations:", *found])
