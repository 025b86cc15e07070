"""The watch button, the preferences page, and pages in the signed-in person's language."""

import pytest
from django.urls import reverse

from notifications.models import Preference, Profile, Watch
from tests.factories import PilotFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anyone_who_can_see_a_pilot_can_watch_it_and_stop(client, outsider):
    pilot = PilotFactory(stage="sandbox", title="Copilot for tickets")
    client.force_login(outsider)
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Watch this pilot" in page
    response = client.post(reverse("pilot_watch", args=[pilot.pk]))
    assert response.status_code == 302
    assert Watch.objects.filter(user=outsider, pilot=pilot).exists()
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "Stop watching" in page
    client.post(reverse("pilot_watch", args=[pilot.pk]), {"watch": "off"})
    assert not Watch.objects.exists()


def test_a_pilot_one_cannot_see_cannot_be_watched(client, outsider):
    draft = PilotFactory(stage="draft")
    client.force_login(outsider)
    assert client.post(reverse("pilot_watch", args=[draft.pk])).status_code == 404
    assert not Watch.objects.exists()


def test_watching_needs_a_post_and_a_sign_in(client, outsider):
    pilot = PilotFactory(stage="sandbox")
    assert client.post(reverse("pilot_watch", args=[pilot.pk])).status_code == 302  # to login
    client.force_login(outsider)
    assert client.get(reverse("pilot_watch", args=[pilot.pk])).status_code == 405
    assert not Watch.objects.exists()


def test_the_preferences_page_saves_the_language_and_a_topic_turned_off(client, lead):
    client.force_login(lead)
    page = client.get(reverse("notifications_me"))
    assert page.status_code == 200
    assert "Invitations to give feedback cannot be turned off" in page.content.decode()
    data = {
        "language": "fr",
        "topic_stage": "email",
        "topic_review": "none",
        "topic_submitted": "email",
        "topic_round_results": "email",
        "topic_decisions": "email",
    }
    response = client.post(reverse("notifications_me"), data)
    assert response.status_code == 302
    assert Profile.objects.get(user=lead).language == "fr"
    assert (
        dict(Preference.objects.filter(user=lead).values_list("topic", "channel"))["review"]
        == "none"
    )
    # From now on the person's pages are in French, whatever the browser says.
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert home["Content-Language"] == "fr"
    assert '<html lang="fr">' in home.content.decode()


def test_an_unknown_topic_channel_is_refused_by_the_form(client, lead):
    client.force_login(lead)
    data = {"language": "fr", "topic_stage": "pigeon"}
    response = client.post(reverse("notifications_me"), data)
    assert response.status_code == 200
    assert not Preference.objects.exists()


def test_the_first_sign_in_keeps_the_browsers_language(client):
    user = UserFactory(username="newcomer")
    client.post(
        reverse("login"),
        {"username": "newcomer", "password": "pw"},
        HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9",
    )
    assert Profile.objects.get(user=user).language == "fr"
    # A later sign-in from an English browser keeps the choice.
    client.logout()
    client.post(
        reverse("login"), {"username": "newcomer", "password": "pw"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert Profile.objects.get(user=user).language == "fr"
    assert client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "fr"


def test_the_header_language_switch_changes_a_signed_in_persons_language(client, lead):
    Profile.objects.create(user=lead, language="en")
    client.force_login(lead)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert Profile.objects.get(user=lead).language == "fr"
    assert client.get(reverse("home"))["Content-Language"] == "fr"


def test_someone_elses_preferences_cannot_be_changed(lead, outsider):
    from core.exceptions import PermissionRefused
    from notifications import preferences

    with pytest.raises(PermissionRefused) as refused:
        preferences.save(lead, actor=outsider, language="fr", channels={})
    assert refused.value.code == "not_yours"
