"""Webhooks end to end against a receiver on 127.0.0.1: signed, retried, disabled, guarded."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from core import outbox
from core.models import ChangeRecord
from core.models import Delivery as OutboxDelivery
from pilots import lifecycle
from tests.factories import OpsUserFactory, PilotFactory
from tests.webhooks.receiver import Receiver
from webhooks import endpoints, signing
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db

A = lifecycle.Action


@pytest.fixture
def run(django_capture_on_commit_callbacks, celery_eager):
    """Run what commits ask for (follow-ups, then deliveries) in-process, as a worker would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def register(ops, receiver: Receiver, events=("pilot.stage_changed",), **extra) -> Endpoint:
    registered = endpoints.register(
        actor=ops, name=extra.pop("name", "Tracker"), url=receiver.url, events=list(events), **extra
    )
    receiver.secret = registered.secret
    return registered.endpoint


def approve(pilot, ops):
    pilot.refresh_from_db()
    return lifecycle.move(pilot.pk, A.APPROVE, actor=ops, expected_stage=pilot.stage)


def test_the_receiver_verifies_the_signature_of_a_stage_change(run, ops, private_hosts, receiver):
    register(ops, receiver)
    pilot = PilotFactory(stage="proposed", title="Reply drafts")
    change = run(approve, pilot, ops)
    [call] = receiver.received
    assert call.signed
    assert call.event == "pilot.stage_changed"
    assert call.key == f"pilot.stage_changed/stage_change:{change.pk}"
    body = call.json()
    assert body["id"] == call.key
    assert body["data"]["pilot"]["title"] == "Reply drafts"
    assert (body["data"]["from_stage"], body["data"]["to_stage"]) == ("proposed", "sandbox")
    # Signed with another secret, or the body changed, it does not verify.
    header = call.headers[signing.HEADER]
    assert not signing.verify("whsec_other", call.body, header)
    assert not signing.verify(receiver.secret, call.body + b" ", header)
    [attempt] = Attempt.objects.all()
    assert attempt.status_code == 200
    assert Delivery.objects.get().outbox.status == "sent"


def test_an_old_timestamp_is_refused_by_the_receivers_check():
    body = b'{"a":1}'
    header = signing.header("whsec_x", body, timestamp=1_000_000)
    assert signing.verify("whsec_x", body, header, now=1_000_000 + 60)
    assert not signing.verify("whsec_x", body, header, now=1_000_000 + 3600)


def test_a_500_is_retried_with_backoff_then_succeeds_with_the_same_key_and_body(
    run, ops, private_hosts, receiver
):
    endpoint = register(ops, receiver)
    receiver.statuses = [500, 503]
    run(approve, PilotFactory(stage="proposed"), ops)
    row = OutboxDelivery.objects.get(kind="webhook")
    assert (row.status, row.attempts) == ("queued", 1)
    assert round((row.next_attempt_at - row.claimed_at).total_seconds()) == 30
    assert outbox.deliver([row.pk]).skipped == 1  # not due yet
    with time_machine.travel(row.next_attempt_at):
        outbox.deliver([row.pk])
    row.refresh_from_db()
    assert row.status == "queued"
    assert round((row.next_attempt_at - row.claimed_at).total_seconds()) == 60  # it doubles
    with time_machine.travel(row.next_attempt_at):
        outbox.deliver([row.pk])
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 3)
    codes = list(Attempt.objects.order_by("number").values_list("number", "status_code"))
    assert codes == [(1, 500), (2, 503), (3, 200)]
    assert len({r.key for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    assert all(r.signed for r in receiver.received)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_and_ops_are_told(
    run, ops, private_hosts, receiver, settings
):
    settings.WEBHOOK_MAX_FAILURES = 3
    ops2 = OpsUserFactory(username="ops2")
    endpoint = register(ops, receiver)
    receiver.statuses = [500] * 10
    for _ in range(3):
        run(approve, PilotFactory(stage="proposed"), ops)
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.consecutive_failures == 3
    assert endpoint.disabled_at is not None
    assert "HTTP 500" in endpoint.disabled_reason
    assert ChangeRecord.objects.filter(action="webhook.disabled", actor=None).count() == 1
    alerts = [m for m in mail.outbox if m.subject == "Webhook disabled: Tracker"]
    assert sorted(m.to[0] for m in alerts) == sorted([ops.email, ops2.email])
    assert "3 calls in a row failed" in alerts[0].body
    # Nothing more is called: the queued retries and new events are not sent.
    calls = len(receiver.received)
    run(approve, PilotFactory(stage="proposed"), ops)
    for row in OutboxDelivery.objects.filter(kind="webhook", status="queued"):
        run(outbox.deliver, [row.pk], now=row.next_attempt_at)
    assert len(receiver.received) == calls == 3
    assert OutboxDelivery.objects.filter(kind="webhook", status="cancelled").count() == 3
    # Made active again by Ops: it starts afresh.
    endpoints.update(endpoint.pk, actor=ops, fields={"active": True})
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason) == (
        0,
        None,
        "",
    )


def test_a_delivery_is_refused_when_its_host_turned_private_dns_rebinding(
    run, ops, private_hosts, receiver
):
    register(ops, receiver)
    # Registered while allowed; at delivery time the guard is on again: 127.0.0.1 is refused.
    private_hosts.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    run(approve, PilotFactory(stage="proposed"), ops)
    assert receiver.received == []
    [attempt] = Attempt.objects.all()
    assert attempt.status_code is None
    assert "public hosts" in attempt.error


def test_a_redirect_is_not_followed_and_counts_as_a_failure(run, ops, private_hosts, receiver):
    register(ops, receiver)
    receiver.statuses = [302]
    run(approve, PilotFactory(stage="proposed"), ops)
    assert len(receiver.received) == 1
    assert Attempt.objects.get().status_code == 302
    assert OutboxDelivery.objects.get(kind="webhook").status == "queued"


def test_slack_and_teams_endpoints_get_message_text_not_raw_json(run, ops, private_hosts, receiver):
    teams = Receiver().start()
    try:
        register(ops, receiver, kind="slack", name="Slack")
        registered = endpoints.register(
            actor=ops,
            name="Teams",
            url=teams.url,
            events=["pilot.stage_changed"],
            kind="teams",
        )
        teams.secret = registered.secret
        run(approve, PilotFactory(stage="proposed", title="Reply drafts"), ops)
        slack_body = receiver.received[0].json()
        teams_body = teams.received[0].json()
    finally:
        teams.stop()
    assert list(slack_body) == ["text"]
    assert "Reply drafts" in slack_body["text"] and "Proposed → Sandbox" in slack_body["text"]
    assert teams_body["@type"] == "MessageCard"
    assert "Reply drafts" in teams_body["title"]


def test_submission_is_sent_as_pilot_submitted_and_as_a_stage_change(
    run, ops, lead, team, private_hosts, receiver
):
    register(ops, receiver, events=["pilot.submitted"])
    pilot = PilotFactory(stage="draft", complete=True, team=team, lead=lead)
    run(lifecycle.move, pilot.pk, A.SUBMIT, actor=lead, expected_stage="draft")
    [call] = receiver.received
    assert call.event == "pilot.submitted"
    # An endpoint hears only what it subscribed to: the approval is not sent.
    run(approve, pilot, ops)
    assert len(receiver.received) == 1


def test_the_same_event_handled_twice_makes_one_delivery_per_endpoint(
    run, ops, private_hosts, receiver
):
    from core import followups
    from webhooks import events

    register(ops, receiver)
    change = run(approve, PilotFactory(stage="proposed"), ops)
    assert run(events.stage_changed, change.pk) == 0
    with_key = f"stage_change:{change.pk}"
    run(
        followups.announce,
        lifecycle.STAGE_CHANGED,
        key=with_key,
        payload={"stage_change_id": change.pk},
    )
    assert Delivery.objects.count() == 1
    assert len(receiver.received) == 1


def test_webhooks_go_out_while_the_mail_server_is_down(run, ops, private_hosts, receiver):
    class Down:
        def __enter__(self):
            raise ConnectionRefusedError("smtp down")

        def __exit__(self, *exc):
            return False

    register(ops, receiver)
    pilot = PilotFactory(stage="proposed")
    with pytest.MonkeyPatch.context() as patch:
        # Nothing delivered at commit: the batch below is the only send.
        patch.setattr(outbox, "_enqueue_task", lambda *args: None)
        run(approve, pilot, ops)
    rows = list(OutboxDelivery.objects.filter(kind="webhook").values_list("pk", flat=True))
    report = outbox.deliver(rows, connection=Down())
    assert report.sent == 1
    assert len(receiver.received) == 1


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_called(run, ops, monkeypatch):
    """DNS rebinding: public when registered, 10.0.0.7 when called; the guard is on."""
    import socket

    answers = {"hooks.example": "93.184.215.14"}

    def resolver(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    def no_connection(*args, **kwargs):
        raise AssertionError("a refused address must never be connected to")

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    endpoints.register(
        actor=ops, name="Rebound", url="https://hooks.example/in", events=["pilot.stage_changed"]
    )
    answers["hooks.example"] = "10.0.0.7"
    run(approve, PilotFactory(stage="proposed"), ops)
    [attempt] = Attempt.objects.all()
    assert (attempt.status_code, "public hosts" in attempt.error) == (None, True)
    assert OutboxDelivery.objects.get(kind="webhook").status == "queued"  # retried later
