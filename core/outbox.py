"""The one outbox: every message that leaves the system is a Delivery row.

`enqueue` writes the row inside the caller's transaction (the same key twice makes one row)
and, after commit, asks a worker to deliver it. A worker claims a delivery with a conditional
UPDATE (queued → sending; only the worker whose update changed the row sends), asks the
delivery's kind to build the message (the kind may find it is not needed any more: cancelled;
claim and build commit together), sends it on its channel, and marks it sent — in the same
statement as its next claim, or alone after the batch's last send. A worker thus has at most
one delivery in "sending" at any time. `sweep`, ticked by beat, handles the rest.

What a failure means is the kind's, declared once when it registers:

* a send that raised did not go out: it is retried with backoff, up to the kind's
  `max_attempts`, then failed (and the kind's `on_failed` is told);
* a delivery left in "sending" by a worker that died may or may not have gone out: an
  **at most once** kind (participant invitations and reminders: two invitations for a round
  would be a second link and a broken promise) is marked failed and never sent again by
  itself — Ops decide; an **at least once** kind (alerts and notifications: missing one is
  worse than a duplicate) goes back to the queue and is sent again, so a receiver may get it
  twice only when a worker died between the send and the commit.

The payload holds what the message is built from; a secret (an answer token) is minted by the
kind when the message is built and lives only in the message.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import F, Q
from django.utils import timezone

from . import dispatch
from .models import Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status
AT_MOST_ONCE = "at_most_once"
AT_LEAST_ONCE = "at_least_once"
DELIVER_TASK = "core.tasks.deliver_batch"
FAN_OUT_TASK = "core.tasks.deliver_batches"
# Deliveries read (and prepared) together; each is still claimed on its own (with the previous
# one's mark).
CHUNK = 100


class Postpone(Exception):
    """Raised by a kind's `build` when the message cannot go now but may later (a paused
    pilot): the delivery goes back to the queue, the attempt not counted."""

    def __init__(self, seconds: float = 600) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """How one kind of delivery is built and what its failures mean."""

    name: str
    semantics: str
    # Build the message for a claimed delivery; None: not needed any more (cancelled).
    build: Callable[[Delivery], Any]
    max_attempts: int = 3
    # Seconds before the n-th retry (n ≥ 1).
    backoff: Callable[[int], float] = lambda attempt: min(60 * 2 ** (attempt - 1), 600)
    on_sent: Callable[[Delivery], None] | None = None
    # Told when a delivery is given up: `lost` is True when its worker died mid-send (it may
    # have gone out), False when every send raised (it did not).
    on_failed: Callable[[Delivery, bool], None] | None = None
    # Private: whom it went to and when says something about a person (a reminder goes only to
    # those who had not answered). The Outbox admin lists such deliveries only once failed, and
    # only their own domain sends them again (with its checks): never `retry`.
    private: bool = False
    # Optional: called with a chunk of queued deliveries before any is claimed, so a kind can
    # read what all their messages need in one query instead of one per message. Read only:
    # a delivery of the chunk may be claimed by another worker first.
    prepare: Callable[[list[Delivery]], None] | None = None


_kinds: dict[str, Kind] = {}
_channels: dict[str, Callable[[Delivery, Any, Any], None]] = {}
# Channels that send through the batch's mail connection (the others are given None).
_mail_channels: set[str] = set()


def register(kind: Kind) -> None:
    if kind.semantics not in (AT_MOST_ONCE, AT_LEAST_ONCE):
        raise ValueError(f"Unknown delivery semantics {kind.semantics!r}")
    _kinds[kind.name] = kind


def kind_of(delivery: Delivery) -> Kind:
    try:
        return _kinds[delivery.kind]
    except KeyError:
        raise LookupError(f"No delivery kind {delivery.kind!r} is registered.") from None


def register_channel(
    name: str, send: Callable[[Delivery, Any, Any], None], *, uses_mail: bool = False
) -> None:
    """`send(delivery, message, connection)` sends or raises; the connection is the batch's
    mail connection for a channel that `uses_mail`, else None."""
    _channels[name] = send
    if uses_mail:
        _mail_channels.add(name)


def _send_email(delivery: Delivery, message: Email, connection) -> None:
    email = EmailMultiAlternatives(
        subject=" ".join(message.subject.split()),
        body=message.body,
        to=[delivery.recipient],
        headers=message.headers or None,
        connection=connection,
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    if email.send() != 1:
        raise RuntimeError("the mail server accepted no message")


register_channel("email", _send_email, uses_mail=True)


def _enqueue_task(kind: str, batch: str, ids: list[int] | None) -> None:
    dispatch.enqueue(DELIVER_TASK, kind, batch, ids)


def enqueue(
    kind: str,
    *,
    recipient: str,
    dedupe_key: str,
    payload: dict | None = None,
    subject=None,
    recipient_user=None,
    channel: str = "email",
    batch: str = "",
    send_after_commit: bool = True,
) -> Delivery | None:
    """Write a delivery (inside the caller's transaction); None if that key was enqueued."""
    kind_of(Delivery(kind=kind))  # an unknown kind fails here, not in a worker
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                kind=kind,
                channel=channel,
                recipient=recipient,
                recipient_user=recipient_user,
                subject_type=(
                    ContentType.objects.get_for_model(subject) if subject is not None else None
                ),
                subject_id=str(subject.pk) if subject is not None else "",
                batch=batch,
                dedupe_key=dedupe_key,
                payload=payload or {},
            )
    except IntegrityError:
        return None
    if send_after_commit:
        transaction.on_commit(lambda: _enqueue_task(kind, batch, [delivery.pk]))
    return delivery


def deliver_after_commit(kind: str, *, batch: str) -> None:
    """Ask a worker, after commit, to send every queued delivery of a batch."""
    transaction.on_commit(lambda: _enqueue_task(kind, batch, None))


def deliver_batches_after_commit(kind: str, batches: list[str]) -> None:
    """Ask, after commit, for every batch to be sent, in one message for them all.

    Opening 500 rounds at once publishes one message (a worker fans it out), not 500:
    publishing them one by one would cost more than writing the 10,000 deliveries.
    """
    if not batches:
        return
    if len(batches) == 1:
        deliver_after_commit(kind, batch=batches[0])
        return
    dispatch.enqueue_on_commit(FAN_OUT_TASK, kind, list(batches))


@dataclass
class Report:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    postponed: int = 0  # cannot go now (a paused pilot): back in the queue, for later
    skipped: int = 0  # someone else had it, or not due yet
    remaining: int = 0  # still queued in the batch after this run

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Sent:
    """A delivery this worker sent and has not marked yet: marked with the next claim."""

    delivery: Delivery
    kind: Kind
    claimed_at: datetime.datetime


@dataclass
class _Unmarked:
    """The batch's one sent delivery still to be marked (None: none)."""

    sent: _Sent | None = None


def _claim(delivery_id: int, now: datetime.datetime, *, sent: _Sent | None = None) -> int | None:
    """Mark `sent` sent and claim one delivery (queued → sending), in one statement.

    Returns the claimed delivery's attempts now, or None if not claimed. A conditional
    UPDATE … RETURNING: only the worker whose update changed the row sends it. One at a time,
    right before its send, and the previous send marked in the same statement: a worker that
    dies leaves at most one delivery in "sending" — the one it was sending, or the one it had
    sent but not marked — and the rest stay queued for the next worker. The mark is
    conditional on the sender's own claim (sending, or failed by a sweep meanwhile: its outcome
    is known after all), as a lone mark is.
    """
    table = db.ops.quote_name(Delivery._meta.db_table)
    stamp = Delivery._meta.get_field("claimed_at").get_db_prep_save(now, db)
    if sent is None:
        with db.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1"  # noqa: S608
                " WHERE id = %s AND status = %s AND next_attempt_at <= %s"
                " RETURNING attempts",  # nosec B608 - the model's table name only
                [Status.SENDING, stamp, delivery_id, Status.QUEUED, stamp],
            )
            row = cursor.fetchone()
        return None if row is None else row[0]
    sent_at = Delivery._meta.get_field("sent_at").get_db_prep_save(timezone.now(), db)
    their_claim = Delivery._meta.get_field("claimed_at").get_db_prep_save(sent.claimed_at, db)
    mark = "id = %s"
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET"  # noqa: S608
            f" status = CASE WHEN {mark} THEN %s ELSE %s END,"
            f" sent_at = CASE WHEN {mark} THEN %s ELSE sent_at END,"
            f" last_error = CASE WHEN {mark} THEN '' ELSE last_error END,"
            f" claimed_at = CASE WHEN {mark} THEN claimed_at ELSE %s END,"
            f" attempts = CASE WHEN {mark} THEN attempts ELSE attempts + 1 END"
            " WHERE (id = %s AND status IN (%s, %s) AND claimed_at = %s)"
            " OR (id = %s AND status = %s AND next_attempt_at <= %s)"
            " RETURNING id, attempts",  # nosec B608 - the model's table name only
            [
                sent.delivery.pk,
                Status.SENT,
                Status.SENDING,
                sent.delivery.pk,
                sent_at,
                sent.delivery.pk,
                sent.delivery.pk,
                stamp,
                sent.delivery.pk,
                sent.delivery.pk,
                Status.SENDING,
                Status.FAILED,
                their_claim,
                delivery_id,
                Status.QUEUED,
                stamp,
            ],
        )
        rows = dict(cursor.fetchall())
    # The marked row comes back too: only the claimed one's attempts matter.
    return rows.get(delivery_id) if delivery_id != sent.delivery.pk else None


def _mark_sent(sent: _Sent, report: Report) -> None:
    """Record a sent delivery (its claim's row only) and tell its kind."""
    mine = Delivery.objects.filter(
        pk=sent.delivery.pk, status__in=[Status.SENDING, Status.FAILED], claimed_at=sent.claimed_at
    )
    mine.update(status=Status.SENT, sent_at=timezone.now(), last_error="")
    _after_mark(sent, report)


def _after_mark(sent: _Sent, report: Report) -> None:
    # As before the combined statement: counted and told even if the row had moved on.
    report.sent += 1
    if sent.kind.on_sent:
        sent.kind.on_sent(sent.delivery)


def _after_failure(delivery: Delivery, kind: Kind, error: str, mine) -> str:
    """A send that raised did not go out: retry with backoff, or give up."""
    if delivery.attempts >= kind.max_attempts:
        if mine.update(status=Status.FAILED, last_error=error[:2000]) and kind.on_failed:
            delivery.status = Status.FAILED
            kind.on_failed(delivery, False)
        return "failed"
    wait = datetime.timedelta(seconds=kind.backoff(delivery.attempts))
    mine.update(
        status=Status.QUEUED, next_attempt_at=timezone.now() + wait, last_error=error[:2000]
    )
    return "retrying"


class _MailConnection:
    """The batch's mail connection, opened at its first email (one connection for a round's
    invitations): a batch of webhook calls never waits for the mail server, nor fails with it.
    A server that refuses the connection fails that email's send (retried: it did not go out).
    """

    def __init__(self, connection) -> None:
        self.connection = connection
        self.is_open = False

    def opened(self):
        if not self.is_open:
            # A backend's __enter__ opens it (and returns it), as `with connection:` would.
            self.connection = self.connection.__enter__()
            self.is_open = True
        return self.connection

    def __enter__(self) -> _MailConnection:
        return self

    def __exit__(self, *exc) -> None:
        if self.is_open:
            self.connection.__exit__(*exc)


def deliver(
    delivery_ids: Iterable[int], *, now: datetime.datetime | None = None, connection=None
) -> Report:
    """Claim, build, send and mark each delivery; repeats are harmless.

    Reads go by chunks of CHUNK: the chunk's rows in one SELECT, and a kind with `prepare`
    reads what their messages need at once. Writes stay one delivery at a time: each is
    claimed right before its send, in the same statement that marks the previous one sent
    (`_claim`), so a worker that dies leaves at most one delivery in "sending", whatever the
    chunk.
    """
    report = Report()
    mail = _MailConnection(connection or get_connection())
    wanted = list(dict.fromkeys(delivery_ids))
    unmarked = _Unmarked()
    with mail:
        try:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                rows = Delivery.objects.filter(pk__in=chunk, status=Status.QUEUED).in_bulk()
                report.skipped += len(chunk) - len(rows)
                by_kind: dict[str, list[Delivery]] = {}
                for delivery in rows.values():
                    by_kind.setdefault(delivery.kind, []).append(delivery)
                for deliveries in by_kind.values():
                    prepare = kind_of(deliveries[0]).prepare
                    if prepare:
                        prepare(deliveries)
                for delivery_id in chunk:
                    if delivery_id in rows:
                        _deliver_one(rows[delivery_id], now, mail, report, unmarked)
        finally:
            # The last send (or the one before an error) is marked on its own, before the mail
            # connection closes.
            if unmarked.sent is not None:
                _mark_sent(unmarked.sent, report)
    return report


def _deliver_one(
    delivery: Delivery, now, mail: _MailConnection, report: Report, unmarked: _Unmarked
) -> None:
    """Claim (marking the unmarked send in the same statement), build and send one delivery.

    The claim and the build (an invitation mints its token there) are one transaction: one
    commit per email, and a worker that dies before it leaves the delivery queued and no
    token minted. The send comes after the commit, so nothing goes out that the database
    does not record as claimed. A delivery that went out becomes the unmarked one, marked
    with the next claim.
    """
    claimed_at = now or timezone.now()
    previous = unmarked.sent
    with transaction.atomic():
        message, kind = _claim_and_build(delivery, claimed_at, report, previous)
    if previous is not None:
        # Committed: the previous send is recorded (if this raised, `deliver` marks it alone).
        unmarked.sent = None
        _after_mark(previous, report)
    if message is None:
        return
    try:
        _channels[delivery.channel](
            delivery, message, mail.opened() if delivery.channel in _mail_channels else None
        )
    except Exception as error:
        logger.exception("Sending delivery %s (%s) failed", delivery.pk, delivery.kind)
        outcome = _after_failure(delivery, kind, repr(error), _mine(delivery, claimed_at))
        setattr(report, outcome, getattr(report, outcome) + 1)
        return
    unmarked.sent = _Sent(delivery, kind, claimed_at)


def _mine(delivery: Delivery, claimed_at: datetime.datetime):
    # Only this claim's row: if the sweep gave up on it meanwhile, the outcome is known after
    # all and is recorded (sent or failed).
    return Delivery.objects.filter(
        pk=delivery.pk, status__in=[Status.SENDING, Status.FAILED], claimed_at=claimed_at
    )


def _claim_and_build(
    delivery: Delivery, claimed_at: datetime.datetime, report: Report, previous: _Sent | None
) -> tuple[Any, Kind | None]:
    """(the message to send, its kind), or (None, None) when nothing is to be sent now."""
    attempts = _claim(delivery.pk, claimed_at, sent=previous)
    if attempts is None:
        report.skipped += 1
        return None, None
    delivery.status, delivery.claimed_at, delivery.attempts = Status.SENDING, claimed_at, attempts
    kind = kind_of(delivery)
    try:
        message = kind.build(delivery)
    except Postpone as later:
        _mine(delivery, claimed_at).update(
            status=Status.QUEUED,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + datetime.timedelta(seconds=later.seconds),
        )
        report.postponed += 1
        return None, None
    except Exception as error:
        logger.exception("Building delivery %s (%s) failed", delivery.pk, delivery.kind)
        outcome = _after_failure(delivery, kind, repr(error), _mine(delivery, claimed_at))
        setattr(report, outcome, getattr(report, outcome) + 1)
        return None, None
    if message is None:
        _mine(delivery, claimed_at).update(status=Status.CANCELLED)
        report.cancelled += 1
        return None, None
    return message, kind


def deliver_batch(
    kind: str, batch: str, ids: list[int] | None = None, *, limit: int | None = None
) -> Report:
    """Send the due queued deliveries of a kind (and batch, or these ids), at most `limit`."""
    limit = limit or settings.OUTBOX_BATCH
    now = timezone.now()
    due = Delivery.objects.filter(kind=kind, status=Status.QUEUED, next_attempt_at__lte=now)
    due = due.filter(pk__in=ids) if ids is not None else due.filter(batch=batch)
    chosen = list(due.order_by("pk").values_list("pk", flat=True)[:limit])
    report = deliver(chosen)
    if ids is None and len(chosen) == limit:
        report.remaining = due.count()
    return report


def sweep(*, now: datetime.datetime | None = None) -> dict:
    """Settle deliveries whose worker died, and enqueue every due one again.

    In "sending" for longer than OUTBOX_STUCK_MINUTES (longer than any single send), the
    outcome is unknown: an at-most-once delivery is failed (its kind's on_failed is told), an
    at-least-once one goes back to the queue. Queued deliveries due for a while (their message
    was lost, or their retry is due) are enqueued again, one task per kind and batch.
    """
    now = now or timezone.now()
    stuck_before = now - datetime.timedelta(minutes=settings.OUTBOX_STUCK_MINUTES)
    given_up, requeued = 0, 0
    with transaction.atomic():
        for delivery in Delivery.objects.select_for_update(skip_locked=True).filter(
            status=Status.SENDING, claimed_at__lt=stuck_before
        ):
            kind = kind_of(delivery)
            same_claim = Delivery.objects.filter(
                pk=delivery.pk, status=Status.SENDING, claimed_at=delivery.claimed_at
            )
            if kind.semantics == AT_MOST_ONCE:
                if same_claim.update(
                    status=Status.FAILED, last_error="worker lost mid-send: delivery unknown"
                ):
                    given_up += 1
                    if kind.on_failed:
                        delivery.status = Status.FAILED
                        kind.on_failed(delivery, True)
            elif same_claim.update(status=Status.QUEUED, next_attempt_at=now):
                requeued += 1
        due = (
            Delivery.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
            .filter(
                Q(attempts__gt=0)
                | Q(created_at__lt=now - datetime.timedelta(minutes=settings.OUTBOX_STUCK_MINUTES))
            )
            .values_list("kind", "batch")
            .distinct()
        )
        batches = sorted(set(due))
        for kind_name, batch in batches:
            transaction.on_commit(
                lambda k=kind_name, b=batch: _enqueue_task(k, b, None if b else _ids(k, now))
            )
    if given_up:
        logger.warning(
            "%d at-most-once deliveries stuck in sending marked failed (delivery unknown, not"
            " sent again).",
            given_up,
        )
    return {"failed": given_up, "requeued": requeued, "batches": [list(b) for b in batches]}


def _ids(kind: str, now: datetime.datetime) -> list[int]:
    """Due deliveries of a kind sent outside any batch (alerts, notifications)."""
    return list(
        Delivery.objects.filter(
            kind=kind, batch="", status=Status.QUEUED, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[: settings.OUTBOX_BATCH]
    )


def private_kinds() -> list[str]:
    return sorted(name for name, kind in _kinds.items() if kind.private)


def retry(delivery_ids: list[int], *, now: datetime.datetime | None = None) -> int:
    """Queue failed deliveries again (Ops, after fixing the mail server); return how many.

    Private kinds are left alone: they go out again only through their own domain's checks
    (an invitation is re-sent from the prompt admin, with a fresh link).
    """
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(pk__in=delivery_ids, status=Status.FAILED)
        .exclude(kind__in=private_kinds())
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    with transaction.atomic():
        requeued = Delivery.objects.filter(pk__in=ids, status=Status.FAILED).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=now, last_error=""
        )
        for kind_name, batch in sorted(
            set(Delivery.objects.filter(pk__in=ids).values_list("kind", "batch"))
        ):
            if batch:
                deliver_after_commit(kind_name, batch=batch)
            else:
                same = list(
                    Delivery.objects.filter(pk__in=ids, kind=kind_name, batch="").values_list(
                        "pk", flat=True
                    )
                )
                transaction.on_commit(lambda k=kind_name, i=same: _enqueue_task(k, "", i))
    return requeued
