"""Invitations are read in chunks and still claimed, sent and marked one at a time."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import outbox
from core.models import Delivery
from feedback import invitations
from feedback.models import Prompt
from feedback.tokens import hash_token
from tests.feedback.test_invitations import TOKEN_RE, open_one, send, status_of, wednesday

pytestmark = pytest.mark.django_db
__all__ = ["wednesday"]  # the autouse fixture of test_invitations, reused here


def _send_counting_queries(round_) -> tuple[outbox.Report, int]:
    """The report and the statements run, transaction control left out (each email's claim
    and token are one transaction: a savepoint here, inside the test's transaction)."""
    with CaptureQueriesContext(connection) as captured:
        report = send(round_)
    statements = [
        q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    return report, len(statements)


def test_sending_a_round_costs_a_few_statements_per_chunk_not_per_email(settings):
    settings.OUTBOX_BATCH = 1000
    small, small_queries = _send_counting_queries(open_one(3))
    large, large_queries = _send_counting_queries(open_one(outbox.CHUNK + 20))
    assert (small.sent, large.sent) == (3, outbox.CHUNK + 20)
    # Per email: its claim (which marks the previous email sent) and its token; the deliveries,
    # their prompts, the charter's acknowledgements and the readers' languages are read by
    # chunk (two chunks here). One by one it was six per email, then four.
    extra = large_queries - small_queries
    assert extra <= 2 * (large.sent - small.sent) + 6


def test_every_email_of_a_chunk_carries_its_own_working_link():
    round_ = open_one(outbox.CHUNK + 5)
    assert send(round_).sent == outbox.CHUNK + 5
    prompts = {p.participant.email: p for p in Prompt.objects.select_related("participant")}
    tokens = set()
    for message in mail.outbox:
        [to] = message.to
        token = TOKEN_RE.search(message.body).group(1)
        assert prompts[to].token_hash == hash_token(token)
        tokens.add(token)
    assert len(tokens) == len(mail.outbox) == outbox.CHUNK + 5
    assert {status_of(p) for p in prompts.values()} == {"sent"}


def test_deliveries_another_worker_claimed_are_skipped_and_the_rest_sent():
    round_ = open_one(4)
    ids = list(Delivery.objects.filter(kind=invitations.INVITATION).values_list("pk", flat=True))
    now = timezone.now()
    assert [outbox._claim(pk, now) for pk in ids[:3]] == [1, 1, 1]  # another worker has them
    report = outbox.deliver(ids)
    assert (report.sent, report.skipped) == (1, 3)
    assert len(mail.outbox) == 1
    assert outbox.deliver(ids).skipped == 4 and len(mail.outbox) == 1
    assert round_.prompts.count() == 4


def test_a_prompt_answered_before_its_chunk_is_built_gets_no_email_but_the_others_do():
    round_ = open_one(3)
    answered = round_.prompts.order_by("pk").first()
    Prompt.objects.filter(pk=answered.pk).update(answered=True)
    before = Prompt.objects.get(pk=answered.pk).token_hash
    report = send(round_)
    assert (report.sent, report.postponed) == (2, 1)
    assert answered.participant.email not in {m.to[0] for m in mail.outbox}
    # Its link in use is kept: no new token was minted for it.
    assert Prompt.objects.get(pk=answered.pk).token_hash == before


def test_each_email_is_marked_sent_by_the_next_claim_and_an_interrupted_batch_marks_its_last(
    monkeypatch,
):
    round_ = open_one(5)
    ids = list(
        Delivery.objects.filter(kind=invitations.INVITATION)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    seen: list[tuple[int, dict]] = []
    original = outbox._channels["email"]

    def channel(delivery, message, connection):
        # What the database says while this email goes out.
        seen.append(
            (delivery.pk, dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status")))
        )
        if len(seen) == 3:
            # A BaseException, as a worker's shutdown would raise: no retry handling runs.
            raise KeyboardInterrupt
        original(delivery, message, connection)

    monkeypatch.setitem(outbox._channels, "email", channel)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver(ids)

    # While the second email went out the first was already marked sent (by that claim), and
    # only the one being sent was in "sending".
    second, statuses = seen[1]
    assert second == ids[1]
    assert statuses == {ids[0]: "sent", ids[1]: "sending", **dict.fromkeys(ids[2:], "queued")}
    # Interrupted at the third: the second, sent and not yet marked, is marked on the way out;
    # the third stays "sending" (the sweep settles it) and the rest are still queued.
    after = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert after == {
        ids[0]: "sent",
        ids[1]: "sent",
        ids[2]: "sending",
        ids[3]: "queued",
        ids[4]: "queued",
    }
    assert len(mail.outbox) == 2
    assert round_.prompts.count() == 5


def test_a_build_interrupted_after_its_token_leaves_the_invitation_queued_and_its_link_unchanged(
    monkeypatch,
):
    round_ = open_one(3)
    ids = list(
        Delivery.objects.filter(kind=invitations.INVITATION)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    hashes = dict(Prompt.objects.values_list("pk", "token_hash"))
    original = invitations._email
    built: list[int] = []

    def email(template, prompt, token):
        built.append(prompt.pk)
        if len(built) == 2:
            # After the token was minted, before the claim's transaction commits.
            raise KeyboardInterrupt
        return original(template, prompt, token)

    monkeypatch.setattr(invitations, "_email", email)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver(ids)

    statuses = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    # The first went out and is marked; the second's claim and token were rolled back together.
    assert statuses == {ids[0]: "sent", ids[1]: "queued", ids[2]: "queued"}
    second = Delivery.objects.get(pk=ids[1])
    assert second.attempts == 0
    assert Prompt.objects.get(pk=built[1]).token_hash == hashes[built[1]]
    assert len(mail.outbox) == 1
    # The next run sends the rest, each with a working link.
    monkeypatch.setattr(invitations, "_email", original)
    assert outbox.deliver(ids).sent == 2
    assert round_.prompts.count() == 3
