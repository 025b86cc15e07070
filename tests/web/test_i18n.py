"""English and French: chosen from the browser, switchable, and every message translated."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse

from tests.factories import PilotFactory

PO_FILE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"


@pytest.mark.django_db
def test_a_french_browser_gets_french_pages(client, lead):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter" in html
    client.force_login(lead)
    html = client.get(reverse("portfolio"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert "Portefeuille" in html


@pytest.mark.django_db
def test_an_english_browser_gets_english_pages(client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html


@pytest.mark.django_db
def test_the_language_switcher_changes_the_language_and_returns_to_the_page(client, lead):
    client.force_login(lead)
    html = client.get(reverse("portfolio")).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    response = client.post(
        reverse("set_language"), {"language": "fr", "next": reverse("portfolio")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio")
    assert "Portefeuille" in client.get(reverse("portfolio")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Portfolio" in client.get(reverse("portfolio")).content.decode()


@pytest.mark.django_db
def test_a_validation_error_from_the_domain_is_shown_in_french(client, lead, team):
    from tests.factories import AIToolFactory
    from tests.web.conftest import proposal_post

    tool = AIToolFactory(name="Copilot")
    client.force_login(lead)
    response = client.post(
        reverse("pilot_propose"),
        proposal_post(team=team, tool=tool, **{"metrics-0-target": "2"}),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert "la cible doit donc être au-dessus de la référence" in response.content.decode()


def test_every_french_message_is_translated_and_none_is_fuzzy():
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)
    untranslated = []
    fuzzy = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert len(catalog) > 100
    assert untranslated == []
    assert fuzzy == []


def test_placeholders_are_kept_in_every_french_message():
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)
    placeholder = re.compile(r"%\((\w+)\)[sdf]|\{\{\s*\w+\s*\}\}")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(placeholder.findall(ids[-1]))
        for string in strings:
            assert set(placeholder.findall(string)) <= wanted | set(placeholder.findall(ids[0])), (
                message.id
            )


@pytest.mark.django_db
def test_rendered_pages_make_no_request_outside_the_site(client, lead, ops, team):
    pilot = PilotFactory(lead=lead, team=team)
    external = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
    pages = [reverse("login")]
    client.force_login(lead)
    pages_lead = [
        reverse("home"),
        reverse("portfolio"),
        reverse("pilot_propose"),
        reverse("pilot_edit", args=[pilot.pk]),
        reverse("pilot_detail", args=[pilot.pk]),
        reverse("tool_registry"),
        reverse("tool_declare"),
    ]
    for url in pages + pages_lead:
        html = client.get(url).content.decode()
        assert not external.search(html), url
    client.force_login(ops)
    assert not external.search(client.get(reverse("home")).content.decode())
    css = (Path(settings.BASE_DIR) / "static" / "css" / "site.css").read_text()
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", css)
