"""Content-Security-Policy: on every response, and no template needs an inline exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.feedback.answering_support import prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REQUIRED = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    return {
        name: value.strip()
        for name, _sep, value in (d.strip().partition(" ") for d in header.split(";") if d.strip())
    }


def assert_policy(response) -> None:
    policy = directives(response["Content-Security-Policy"])
    for name, value in REQUIRED.items():
        assert policy[name] == value, (name, policy)
    assert not any("unsafe" in v for v in policy.values()), policy


def test_pages_of_every_kind_carry_the_policy(client, ops, participant):
    _prompt, token = prompt_with_token(pulse_round(), participant)
    for url in [
        reverse("login"),
        reverse("feedback_answer", args=[token]),
        reverse("feedback_answer", args=["unknown-token"]),
        "/healthz",
        "/admin/login/",
        reverse("api_schema"),
    ]:
        assert_policy(client.get(url))
    client.force_login(ops)
    for url in ["/", "/pilots/", "/admin/", "/admin/pilots/pilot/add/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy(response)


def test_the_admin_works_under_the_policy(client, ops):
    """The admin's scripts are files of its own origin: its pages load them with src only."""
    client.force_login(ops)
    html = client.get("/admin/pilots/pilot/add/").content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the change form loads its scripts"
    assert all(" src=" in tag for tag in scripts), scripts


def test_no_template_has_an_inline_script_style_or_event_handler():
    offending = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (
            r"<script\b(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=",
            r"\son[a-z]+=",
            r"javascript:",
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offending.append(f"{path.relative_to(TEMPLATES)}: {pattern}")
    assert offending == []
