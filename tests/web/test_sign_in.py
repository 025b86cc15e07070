import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from pilots.demo import PEOPLE
from tests.factories import MembershipFactory, TeamFactory, UserFactory

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


# Demo mode: the sign-in page lists the demo accounts (pilots.demo), never in production.


def demo_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<tr><td><code>([^<]+)</code></td><td>[^<]*</td><td>([^<]*)</td></tr>", html)


@pytest.fixture
def seeded(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", stdout=StringIO())


def test_in_demo_mode_the_sign_in_page_lists_every_demo_account_with_its_role(client, seeded):
    html = client.get(reverse("login")).content.decode()
    assert "Demo accounts" in html
    assert "the password <code>demo</code>" in html
    rows = dict(demo_rows(html))
    assert list(rows) == [username for username, *_rest in PEOPLE]
    assert rows["ops"] == rows["ops2"] == "Ops"
    assert rows["lead"] == "lead of Customer support"
    assert rows["participant"] == "member of Customer support"
    assert rows["dana"] == "lead of Finance"
    assert not any("-agent-" in username for username in rows)  # they cannot sign in


def test_a_listed_demo_account_signs_in_with_the_password_shown(client, seeded):
    response = client.post(reverse("login"), {"username": "participant", "password": "demo"})
    assert response.status_code == 302
    assert client.get(reverse("feedback_inbox")).status_code == 200


def test_outside_demo_mode_the_sign_in_page_lists_no_account(client, seeded, settings):
    settings.DEMO_MODE = False
    html = client.get(reverse("login")).content.decode()
    assert "Demo accounts" not in html
    assert not demo_rows(html)
    assert "<code>demo</code>" not in html
    # A failed attempt renders the page again: still nothing.
    failed = client.post(reverse("login"), {"username": "ops", "password": "nope"})
    assert "Demo accounts" not in failed.content.decode()


def test_in_demo_mode_without_demo_data_the_page_lists_no_account(client, settings):
    settings.DEMO_MODE = True
    UserFactory(username="someone")
    html = client.get(reverse("login")).content.decode()
    assert "Demo accounts" not in html


def test_the_demo_accounts_cost_the_same_queries_however_many_people_and_teams(
    client, seeded, django_assert_max_num_queries
):
    # Queries: the demo users, which of them are Ops, their memberships with teams.
    with django_assert_max_num_queries(3):
        assert client.get(reverse("login")).status_code == 200
    people = get_user_model().objects.filter(username__in=[p[0] for p in PEOPLE])
    for i in range(20):
        team = TeamFactory(name=f"Team {i}", slug=f"team-{i}")
        for user in people:
            MembershipFactory(team=team, user=user)
        UserFactory()
    with django_assert_max_num_queries(3):
        html = client.get(reverse("login")).content.decode()
    assert "member of Team 19" in html
