"""Personal API tokens: hashed, scoped, expiring, revocable, throttled, shown once."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError
from rest_framework.test import APIClient

from api import tokens
from api.models import ApiToken
from tests.factories import PilotFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_token_is_stored_only_as_its_hash_and_has_a_recognisable_prefix(lead):
    new = tokens.create_token(lead, name="sync", scope="read")
    assert new.secret.startswith("aipt_")
    stored = ApiToken.objects.get()
    assert stored.token_hash == tokens.hash_secret(new.secret)
    assert new.secret not in str(ApiToken.objects.values().get())


def test_a_token_authenticates_its_user_and_notes_the_day_it_was_used(lead):
    new = tokens.create_token(lead, name="sync", scope="read")
    response = bearer(new.secret).get("/api/v1/pilots/")
    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_on == datetime.date.today()


def test_the_last_used_day_is_written_at_most_once_a_day(lead, django_assert_num_queries):
    new = tokens.create_token(lead, name="sync", scope="read")
    tokens.authenticate(new.secret)
    # One SELECT (token with its user), no UPDATE the second time the same day.
    with django_assert_num_queries(1):
        tokens.authenticate(new.secret)


@pytest.mark.parametrize("how", ["revoked", "expired", "unknown"])
def test_a_revoked_expired_or_unknown_token_gets_401_at_once(lead, how):
    new = tokens.create_token(lead, name="sync", scope="write")
    secret = new.secret
    if how == "revoked":
        tokens.revoke_token(new.token.pk, actor=lead)
    elif how == "expired":
        ApiToken.objects.update(expires_on=datetime.date.today() - datetime.timedelta(days=1))
    else:
        secret = "aipt_nothing"
    response = bearer(secret).get("/api/v1/pilots/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == {"code", "field", "detail"}
    assert body["code"] == {"revoked": "token_revoked", "expired": "token_expired"}.get(
        how, "invalid_token"
    )


def test_a_read_token_cannot_change_anything(lead, team):
    new = tokens.create_token(lead, name="sync", scope="read")
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    response = bearer(new.secret).post(f"/api/v1/pilots/{pilot.pk}/submit/", {}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "read_only_token",
        "field": None,
        "detail": "This token is read-only: create a write token to make changes.",
    }


def test_a_write_token_submits_a_draft(lead, team):
    new = tokens.create_token(lead, name="sync", scope="write")
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    response = bearer(new.secret).post(f"/api/v1/pilots/{pilot.pk}/submit/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["to_stage"] == "proposed"


def test_each_token_is_throttled_on_its_own(lead, settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute"},
    }
    first = tokens.create_token(lead, name="one", scope="read").secret
    second = tokens.create_token(lead, name="two", scope="read").secret
    with time_machine.travel(datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.UTC)):
        codes = [bearer(first).get("/api/v1/tools/").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert bearer(first).get("/api/v1/tools/").json()["code"] == "throttled"
        assert bearer(second).get("/api/v1/tools/").status_code == 200


def test_basic_authentication_is_off_outside_debug(lead):
    lead.set_password("pw-for-basic")
    lead.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic bGVhZDpwdy1mb3ItYmFzaWM=")
    assert client.get("/api/v1/pilots/").status_code == 401


def test_the_database_refuses_two_live_tokens_with_the_same_name(lead):
    tokens.create_token(lead, name="sync", scope="read")
    with pytest.raises(IntegrityError, match=r"api_apitoken_one_live_name_per_user|UNIQUE"):
        ApiToken.objects.create(user=lead, name="sync", scope="read", token_hash="x" * 64)


def test_the_database_refuses_an_unknown_scope(lead):
    with pytest.raises(IntegrityError, match="api_apitoken_scope_valid"):
        ApiToken.objects.create(user=lead, name="a", scope="admin", token_hash="y" * 64)


def test_the_profile_page_shows_a_new_token_once_then_revokes_it(client, lead):
    client.force_login(lead)
    response = client.post("/me/tokens/", {"name": "dashboard", "scope": "read"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("aipt_") and secret in response.content.decode()
    again = client.get("/me/tokens/")
    assert secret not in again.content.decode() and "dashboard" in again.content.decode()
    token = ApiToken.objects.get()
    client.post(f"/me/tokens/{token.pk}/revoke/")
    assert bearer(secret).get("/api/v1/pilots/").status_code == 401


def test_nobody_revokes_someone_elses_token(client, lead, outsider):
    token = tokens.create_token(lead, name="sync", scope="read").token
    client.force_login(outsider)
    client.post(f"/me/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_command_prints_a_new_token_once_and_revokes_it(lead):
    out = io.StringIO()
    call_command("api_token", "create", "lead", "--name", "ci", "--scope", "write", stdout=out)
    secret = out.getvalue().strip()
    assert bearer(secret).get("/api/v1/pilots/").status_code == 200
    token = ApiToken.objects.get()
    assert token.scope == "write"
    call_command("api_token", "revoke", str(token.pk), stdout=io.StringIO())
    assert bearer(secret).get("/api/v1/pilots/").status_code == 401
