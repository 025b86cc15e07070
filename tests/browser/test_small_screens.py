"""At 375 and 320 pixels wide no page scrolls sideways (a wide table scrolls in its own box).

One test per role, in English and in French (French words are longer): each page is loaded at
1280 pixels, measured, then narrowed to 375 and 320 and measured again. A failure names the
page, the width and the elements that stick out, so the fix is easy to find.
"""

from __future__ import annotations

import pytest
from django.db import connections

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.pages_support import ROLES, build_world, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 375, 320)
# The elements sticking out of the window, outermost first (the first is usually the culprit);
# what sits inside a box that scrolls on its own does not count.
OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right <= limit + 0.5 || box.width === 0) continue;
    let inScroller = false;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') { inScroller = true; break; }
    }
    if (inScroller) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.classList.length ? '.' + [...el.classList].join('.') : '');
    out.push(name + ' (right edge ' + Math.round(box.right) + ')');
    if (out.length === 6) break;
  }
  return out;
}"""


# The site's fields that the stylesheet left to the browser's defaults (a URL field drawn at
# the browser's narrow default size beside full-width text fields): every field the site shows
# wears the site's border. The admin has its own stylesheet.
UNSTYLED_FIELDS = """() => {
  if (location.pathname.startsWith('/admin/')) return [];
  const out = [];
  const skip = new Set(['hidden', 'radio', 'checkbox', 'submit', 'button', 'file', 'image']);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (skip.has(el.type) || el.getBoundingClientRect().width === 0) continue;
    if (getComputedStyle(el).borderTopLeftRadius !== '4px') {
      out.push(el.tagName.toLowerCase() + '[type=' + el.type + ']#' + el.id);
    }
  }
  return out;
}"""


def sideways_scroll(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"], ids=["en", "fr"])
@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(role, locale, chromium, live_server):
    username, visits = ROLES[role]
    world = build_world()
    context = chromium.new_context(base_url=live_server.url, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    found: list[str] = []
    try:
        if username:
            sign_in(context, live_server.url, username)
        page = context.new_page()
        for visit in visits:
            page.set_viewport_size({"width": WIDTHS[0], "height": 800})
            visit.go(page, world)
            unstyled = page.evaluate(UNSTYLED_FIELDS)
            if unstyled:
                found.append(f"{visit.name}: fields without the site's style — {unstyled}")
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                scroll_width, window_width = sideways_scroll(page)
                if scroll_width > window_width:
                    culprits = ", ".join(page.evaluate(OVERFLOWING))
                    found.append(f"{visit.name} at {width}px: {scroll_width}px wide — {culprits}")
    finally:
        context.close()
        connections.close_all()
    assert not found, "\n".join(["Pages wider than the phone, or unstyled fields:", *found])
