"""Ops register an endpoint in the admin: the domain's checks, the secret shown once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import ChangeRecord
from tests.factories import UserFactory
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

ADD = reverse("admin:webhooks_endpoint_add")


def form(**extra) -> dict:
    return {
        "name": "Chat",
        "kind": "slack",
        "url": "https://93.184.215.14/hook",
        "events": ["breach.opened", "round.closed"],
        "active": "on",
        **extra,
    }


def test_ops_add_an_endpoint_and_see_its_secret_once(client, ops):
    client.force_login(ops)
    answer = client.post(ADD, form())
    assert answer.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["breach.opened", "round.closed"]
    assert endpoint.secret in answer.content.decode()
    assert "no-store" in answer["Cache-Control"]
    # Not in a message waiting for the next page.
    assert endpoint.secret not in client.get(reverse("admin:index")).content.decode()
    assert ChangeRecord.objects.filter(action="webhook.registered", actor=ops).exists()
    change = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in change.content.decode()


def test_the_admin_refuses_a_private_address_on_the_url_field(client, ops):
    client.force_login(ops)
    answer = client.post(ADD, form(url="http://169.254.169.254/latest/"))
    assert answer.status_code == 200
    assert "webhooks only go to public hosts" in answer.content.decode()
    assert not Endpoint.objects.exists()


def test_staff_outside_ops_cannot_reach_webhooks_in_the_admin(client):
    staff = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    assert client.get(ADD).status_code == 403
    assert client.get(reverse("admin:webhooks_endpoint_changelist")).status_code == 403
