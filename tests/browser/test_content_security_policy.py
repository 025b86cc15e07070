"""Every page type, as the role that works in it, loads under the CSP without a violation.

The policy (settings.CONTENT_SECURITY_POLICY) allows no inline script or style: a template or
a widget that brings one back shows here as a refused resource, with the page it broke.
The charts (inline SVG with presentation attributes) and the admin's scripts must keep working.
"""

from __future__ import annotations

import pytest
from django.db import connections

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.pages_support import ROLES, build_world, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in each page before its own scripts: the browser reports every refusal as an event.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_a_role_loads_without_a_csp_violation(role, chromium, live_server):
    username, visits = ROLES[role]
    world = build_world()
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(LISTEN)
    found: list[str] = []
    try:
        if username:
            sign_in(context, live_server.url, username)
        page = context.new_page()
        current = {"name": ""}
        page.on(
            "console",
            lambda m: (
                found.append(f"{current['name']}: console: {m.text}")
                if "Content Security Policy" in m.text
                else None
            ),
        )
        for visit in visits:
            current["name"] = visit.name
            visit.go(page, world)
            header = page.evaluate(
                "() => fetch(location.href, {method: 'HEAD'})"
                ".then(r => r.headers.get('content-security-policy'))"
            )
            assert header and "default-src 'self'" in header, visit.name
            found.extend(f"{visit.name}: {v}" for v in page.evaluate("window.__cspViolations"))
    finally:
        context.close()
        connections.close_all()
    assert not found, "\n".join([f"{len(found)} CSP violations:", *found])
