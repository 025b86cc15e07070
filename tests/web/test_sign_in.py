import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_labels_its_fields(client):
    html = client.get(reverse("login")).content.decode()
    assert 'for="id_username"' in html
    assert 'for="id_password"' in html


def test_a_person_signs_in_and_lands_on_their_home(client, lead):
    response = client.post(reverse("login"), {"username": "lead", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, lead):
    response = client.post(reverse("login"), {"username": "lead", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_five_failures_lock_the_account_even_for_the_right_password(client, lead):
    for _ in range(4):
        assert (
            client.post(reverse("login"), {"username": "lead", "password": "x"}).status_code == 200
        )
    fifth = client.post(reverse("login"), {"username": "lead", "password": "x"})
    assert fifth.status_code == 429
    right = client.post(reverse("login"), {"username": "lead", "password": "pw"})
    assert right.status_code == 429
    assert "Too many failed sign-in attempts" in right.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_a_lockout_of_one_person_does_not_lock_another(client, lead, participant):
    for _ in range(5):
        client.post(reverse("login"), {"username": "lead", "password": "x"})
    response = client.post(reverse("login"), {"username": "participant", "password": "pw"})
    assert response.status_code == 302


def test_signing_out_is_a_post_from_the_navigation(client, lead):
    client.force_login(lead)
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("logout")}" method="post"' in html
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
