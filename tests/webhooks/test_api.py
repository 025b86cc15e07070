"""/api/v1/webhooks/: Ops register, change, remove endpoints and read their deliveries."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core import outbox
from core.models import Delivery as OutboxDelivery
from webhooks import endpoints
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hook"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_ops_register_an_endpoint_and_see_its_secret_only_once(ops):
    client = api_as(ops)
    created = client.post(
        "/api/v1/webhooks/",
        {"name": "Chat", "kind": "teams", "url": PUBLIC, "events": ["round.closed"]},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"] == Endpoint.objects.get().secret
    assert body["kind"] == "teams" and body["events"] == ["round.closed"]
    detail = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in detail and all("secret" not in row for row in listed)
    rotated = client.post(f"/api/v1/webhooks/{body['id']}/rotate-secret/").json()
    assert rotated["secret"] != body["secret"]
    assert Endpoint.objects.get().secret == rotated["secret"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "http://169.254.169.254/"}, "private_address", "url"),
        ({"url": "http://10.0.0.8/"}, "private_address", "url"),
        ({"url": "gopher://93.184.215.14/"}, "url_scheme", "url"),
        ({"events": ["pilot.answered"]}, "invalid_choice", "events-0"),
        ({"events": []}, "min_length", "events"),
        ({"kind": "irc"}, "invalid_choice", "kind"),
    ],
)
def test_bad_input_gets_the_apis_error_format(ops, body, code, field):
    data = {"name": "Chat", "url": PUBLIC, "events": ["round.closed"], **body}
    answer = api_as(ops).post("/api/v1/webhooks/", data, format="json")
    assert answer.status_code == 400
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert answer.json()["detail"]
    assert not Endpoint.objects.exists()


def test_anyone_but_ops_is_refused_whatever_the_id(lead, ops):
    endpoint = endpoints.register(actor=ops, name="Chat", url=PUBLIC, events=["round.closed"])
    client = api_as(lead)
    for url in (
        "/api/v1/webhooks/",
        f"/api/v1/webhooks/{endpoint.endpoint.pk}/",
        "/api/v1/webhooks/999999/",
    ):
        answer = client.get(url)
        assert answer.status_code == 403
        assert answer.json()["code"] == "permission_denied"


def test_ops_change_and_remove_an_endpoint(ops):
    endpoint = endpoints.register(
        actor=ops, name="Chat", url=PUBLIC, events=["round.closed"]
    ).endpoint
    client = api_as(ops)
    changed = client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["name"] == "Chat"
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not Endpoint.objects.exists()


def _deliveries(endpoint, n: int) -> None:
    for i in range(n):
        row = outbox.enqueue(
            "webhook", channel="webhook", recipient=PUBLIC, dedupe_key=f"webhook:{endpoint.pk}:{i}"
        )
        delivery = Delivery.objects.create(
            endpoint=endpoint, outbox=row, event="round.closed", idempotency_key=f"round.closed/{i}"
        )
        Attempt.objects.create(delivery=delivery, number=1, status_code=500, error="down")
        Attempt.objects.create(delivery=delivery, number=2, status_code=200)


@pytest.mark.parametrize("n", [2, 12])
def test_the_deliveries_list_shows_each_attempt_in_few_queries(
    ops, n, django_assert_max_num_queries
):
    endpoint = endpoints.register(
        actor=ops, name="Chat", url=PUBLIC, events=["round.closed"]
    ).endpoint
    _deliveries(endpoint, n)
    OutboxDelivery.objects.filter(kind="webhook").update(status="failed")
    client = api_as(ops)
    ops.refresh_from_db()
    # The caller's Ops check, the endpoint, the count, the page with its outbox rows, the
    # attempts.
    with django_assert_max_num_queries(6):
        answer = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    rows = answer.json()["results"]
    assert len(rows) == n
    assert rows[0]["state"] == "failed"
    assert [a["status_code"] for a in rows[0]["attempts"]] == [500, 200]
