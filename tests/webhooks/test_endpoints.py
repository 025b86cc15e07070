"""Registering endpoints: Ops only, an SSRF guard, a secret shown once, rules in the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord
from webhooks import addresses, endpoints
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hook"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "private_address"),
        ("http://10.1.2.3/hook", "private_address"),
        ("http://192.168.0.5/hook", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://[::1]/hook", "private_address"),
        ("http://[fe80::1]/hook", "private_address"),
        ("http://[::ffff:127.0.0.1]/hook", "private_address"),
        ("http://0.0.0.0/hook", "private_address"),
        ("http://224.0.0.1/hook", "private_address"),
        ("http://localhost/hook", "private_address"),
        ("ftp://93.184.215.14/hook", "url_scheme"),
        ("file:///etc/passwd", "url_scheme"),
        ("gopher://93.184.215.14/", "url_scheme"),
        ("https://user:pw@93.184.215.14/", "invalid_url"),
        ("https://no-such-host.invalid/", "unresolvable_host"),
    ],
)
def test_a_url_that_could_reach_inside_the_network_is_refused(ops, url, code):
    with pytest.raises(ValidationFailed) as refused:
        endpoints.register(actor=ops, name="Hook", url=url, events=["breach.opened"])
    assert (refused.value.code, refused.value.field) == (code, "url")
    assert not Endpoint.objects.exists()


def test_private_hosts_are_allowed_only_with_the_setting(ops, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    registered = endpoints.register(
        actor=ops, name="Hook", url="http://127.0.0.1:9/hook", events=["breach.opened"]
    )
    assert registered.endpoint.pk
    # The scheme is checked whatever the setting says.
    with pytest.raises(ValidationFailed) as refused:
        addresses.resolve("ftp://127.0.0.1/")
    assert refused.value.code == "url_scheme"


def test_a_public_address_is_accepted_and_the_secret_is_returned_once(ops):
    registered = endpoints.register(
        actor=ops, name="Hook", url=PUBLIC, events=["breach.opened", "round.closed"]
    )
    assert registered.secret.startswith("whsec_") and len(registered.secret) > 40
    endpoint = Endpoint.objects.get()
    # Kept in clear (HMAC needs it), but never in the change record.
    assert endpoint.secret == registered.secret
    record = ChangeRecord.objects.get(action="webhook.registered")
    assert registered.secret not in str(record.changes)
    assert record.actor == ops


def test_only_ops_manage_webhooks(lead, ops):
    with pytest.raises(PermissionRefused):
        endpoints.register(actor=lead, name="Hook", url=PUBLIC, events=["breach.opened"])
    endpoint = endpoints.register(
        actor=ops, name="Hook", url=PUBLIC, events=["breach.opened"]
    ).endpoint
    with pytest.raises(PermissionRefused):
        endpoints.update(endpoint.pk, actor=lead, fields={"active": False})
    with pytest.raises(PermissionRefused):
        endpoints.remove(endpoint.pk, actor=lead)


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"events": []}, "invalid_events", "events"),
        ({"events": ["pilot.answered"]}, "invalid_events", "events"),
        ({"name": "  "}, "required", "name"),
        ({"kind": "irc"}, "invalid", "kind"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(ops, fields, code, field):
    data = {"name": "Hook", "url": PUBLIC, "events": ["breach.opened"], **fields}
    with pytest.raises(ValidationFailed) as refused:
        endpoints.register(actor=ops, **data)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Endpoint.objects.exists()


def test_two_endpoints_cannot_share_a_name(ops):
    endpoints.register(actor=ops, name="Hook", url=PUBLIC, events=["breach.opened"])
    with pytest.raises(ValidationFailed) as refused:
        endpoints.register(actor=ops, name="Hook", url=PUBLIC, events=["round.closed"])
    assert (refused.value.code, refused.value.field) == ("unique", "name")


def _endpoint(**fields) -> Endpoint:
    data = {"name": "E", "url": PUBLIC, "events": ["breach.opened"], "secret": "whsec_x"}
    return Endpoint(**{**data, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "ftp://93.184.215.14/"},
        {"url": "javascript:alert(1)"},
        {"kind": "irc"},
        {"secret": ""},
        {"name": ""},
        # Disabled by the system while still active, or without a reason.
        {"disabled_at": timezone.now(), "disabled_reason": "x", "active": True},
        {"disabled_at": timezone.now(), "disabled_reason": "", "active": False},
    ],
)
def test_the_database_refuses_an_endpoint_breaking_its_rules(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        _endpoint(**fields).save()


def test_the_database_refuses_a_second_delivery_of_one_occurrence_and_odd_attempts():
    from core import outbox

    endpoint = _endpoint()
    endpoint.save()

    def outbox_row(key):
        return outbox.enqueue("webhook", channel="webhook", recipient=PUBLIC, dedupe_key=key)

    first = Delivery.objects.create(
        endpoint=endpoint, outbox=outbox_row("a"), event="breach.opened", idempotency_key="k"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            endpoint=endpoint, outbox=outbox_row("b"), event="breach.opened", idempotency_key="k"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            endpoint=endpoint, outbox=outbox_row("c"), event="pilot.answered", idempotency_key="x"
        )
    Attempt.objects.create(delivery=first, number=1, status_code=500)
    for bad in ({"number": 1}, {"number": 2, "status_code": 42}, {"number": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Attempt.objects.create(delivery=first, **bad)
