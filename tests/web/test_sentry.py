"""Errors sent to Sentry carry no personal data and no answer token."""

from __future__ import annotations

import json

from aiops_site.sentry import scrub

TOKEN = "tok3nOfAnAnswerLink"


def event(url: str) -> dict:
    return {
        "message": f"Boom at {url}",
        "user": {"id": 7, "username": "participant", "ip_address": "10.0.0.9"},
        "server_name": "web-1",
        "request": {
            "url": url,
            "method": "POST",
            "data": {"comment": "my manager is wrong"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Token x", "Accept": "*/*"},
            "env": {"REMOTE_ADDR": "10.0.0.9"},
        },
        "breadcrumbs": {"values": [{"message": f"GET {url}"}]},
    }


def test_an_error_on_an_answer_page_keeps_no_request_data_and_no_token():
    scrubbed = json.dumps(scrub(event(f"https://pilots.example.com/feedback/answer/{TOKEN}/")))
    for secret in (TOKEN, "participant", "10.0.0.9", "my manager", "sessionid", "web-1"):
        assert secret not in scrubbed, secret
    assert "/feedback/answer/<redacted>/" in scrubbed


def test_an_error_elsewhere_keeps_the_url_and_harmless_headers_only():
    scrubbed = scrub(event("https://pilots.example.com/pilots/3/"))
    assert scrubbed["request"]["url"] == "https://pilots.example.com/pilots/3/"
    assert scrubbed["request"]["headers"] == {"Accept": "*/*"}
    assert "user" not in scrubbed and "data" not in scrubbed["request"]
    assert "cookies" not in scrubbed["request"] and "env" not in scrubbed["request"]
