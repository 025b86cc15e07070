"""Every data table sits in its own scrolling box, so a narrow screen scrolls the table, not the
page (the browser tests measure it; this checks the markup on every database)."""

import re

import pytest

from tests.browser.pages_support import build_world

pytestmark = pytest.mark.django_db

SCROLL_BOX = re.compile(
    r'<div class="table-scroll" role="region" '
    r'(?:aria-labelledby="(?P<ref>[^"]+)"|aria-label="(?P<label>[^"]+)") tabindex="0">\s*$'
)


def _pages(world):
    running, lead, ops = world.running.pk, world.lead, world.ops
    return [
        (lead, f"/pilots/{running}/"),
        (lead, "/pilots/"),
        (lead, f"/reports/pilots/{running}/"),
        (lead, f"/feedback/pilots/{running}/questions/"),
        (ops, "/"),
        (world.participant, "/feedback/"),
        (world.participant, "/tools/"),
    ]


def test_every_table_scrolls_in_a_named_focusable_box_of_its_own(client):
    world = build_world()
    for user, url in _pages(world):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        starts = [m.start() for m in re.finditer(r"<table\b", html)]
        assert starts, url
        for start in starts:
            box = SCROLL_BOX.search(html[:start])
            assert box, f"{url}: a table outside a scrolling box: {html[start : start + 80]}"
            if box["ref"]:
                # The region is named by a heading or caption of the page.
                assert f'id="{box["ref"]}"' in html, (url, box["ref"])
