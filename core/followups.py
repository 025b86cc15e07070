"""Follow-up work: data before it is a message.

When a commit must be followed by work (evaluate a closed round's guardrails, breach the
guardrails an exposure report breaks, tell people what happened), the domain function calls
`request` inside its transaction: a FollowUp row is written with its cause, and only after
commit is a task enqueued to run it. A broker that loses its messages (Redis restarted empty)
delays the work but never drops it: `sweep`, ticked by beat, enqueues every pending row again.
Domain modules never import tasks; this module is the one mechanism that enqueues.

Handlers are registered by kind from the layer that owns the work (an AppConfig.ready), take
the row's payload as keyword arguments, and must be harmless when run twice: a worker can die
after the handler committed and before the row is marked done.

A layer above may also want to act on a cause it does not own (notifications on a stage move,
a closed round): it `subscribe`s a kind of its own to the cause's name. `request` and
`announce` then write one more row per subscriber, with the same key and payload, in the same
transaction: each subscriber's work is retried and swept on its own, and the cause's module
imports nothing of the subscriber. `announce` names a cause with no work of its own: with no
subscriber, it writes nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import dispatch
from .models import FollowUp

logger = logging.getLogger(__name__)

Status = FollowUp.Status
TASK = "core.tasks.run_followup"
MAX_ATTEMPTS = 8
_handlers: dict[str, Callable[..., Any]] = {}
_subscribers: dict[str, list[str]] = {}


def register(kind: str, handler: Callable[..., Any]) -> None:
    """Say which function does the work of a kind of follow-up."""
    _handlers[kind] = handler


def subscribe(cause: str, kind: str) -> None:
    """Have every request or announcement of `cause` also request `kind` (same key, payload).

    `kind` must already have its handler.
    """
    handler_for(kind)
    kinds = _subscribers.setdefault(cause, [])
    if kind not in kinds:
        kinds.append(kind)


def handler_for(kind: str) -> Callable[..., Any]:
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"No handler is registered for follow-ups of kind {kind!r}.") from None


def _enqueue(followup_id: int) -> None:
    # By name from the app's registry: no import of a task module, and eager mode (tests)
    # still runs it in-process.
    dispatch.enqueue(TASK, followup_id)


def request(kind: str, *, key: str, payload: dict | None = None) -> FollowUp:
    """Record that `kind` work must follow the current transaction's commit; return the row.

    Call it inside the cause's transaction. The same kind and key still pending make one row.
    """
    handler_for(kind)  # an unknown kind is a programming error: fail now, not in a worker
    followup = _write(kind, key, payload)
    announce(kind, key=key, payload=payload)
    return followup


def announce(cause: str, *, key: str, payload: dict | None = None) -> list[FollowUp]:
    """Request the work of every kind subscribed to `cause`; return their rows (maybe none).

    Call it inside the cause's transaction, like `request`.
    """
    return [_write(kind, key, payload) for kind in _subscribers.get(cause, [])]


def _write(kind: str, key: str, payload: dict | None) -> FollowUp:
    try:
        with transaction.atomic():
            followup = FollowUp.objects.create(kind=kind, key=key, payload=payload or {})
    except IntegrityError:
        return FollowUp.objects.get(kind=kind, key=key, status__in=[Status.PENDING, Status.RUNNING])
    transaction.on_commit(lambda: _enqueue(followup.pk))
    return followup


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 30 * 60))


def run(followup_id: int, *, now: datetime.datetime | None = None) -> str:
    """Claim one pending follow-up and do its work; return what happened.

    The claim is a conditional UPDATE: a second worker (a duplicated message, the sweep) finds
    nothing to claim. A failing handler puts the row back with a growing delay, and after
    MAX_ATTEMPTS marks it failed for Ops to see.
    """
    now = now or timezone.now()
    claimed = FollowUp.objects.filter(
        pk=followup_id, status=Status.PENDING, available_at__lte=now
    ).update(status=Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return "skipped"
    followup = FollowUp.objects.get(pk=followup_id)
    mine = FollowUp.objects.filter(pk=followup_id, status=Status.RUNNING, claimed_at=now)
    try:
        handler_for(followup.kind)(**followup.payload)
    except Exception as error:
        logger.exception("Follow-up %s (%s %s) failed", followup.pk, followup.kind, followup.key)
        if followup.attempts >= MAX_ATTEMPTS:
            mine.update(status=Status.FAILED, last_error=repr(error)[:2000])
            return "failed"
        mine.update(
            status=Status.PENDING,
            available_at=timezone.now() + _backoff(followup.attempts),
            last_error=repr(error)[:2000],
        )
        return "retry"
    mine.update(status=Status.DONE, done_at=timezone.now(), last_error="")
    return "done"


def retry(followup_ids: list[int], *, now: datetime.datetime | None = None) -> int:
    """Put failed follow-ups back to pending and run them after commit; return how many.

    One whose kind and key already have a pending follow-up stays failed: that one does the
    work.
    """
    now = now or timezone.now()
    retried = 0
    with transaction.atomic():
        for pk in FollowUp.objects.filter(pk__in=followup_ids, status=Status.FAILED).values_list(
            "pk", flat=True
        ):
            try:
                with transaction.atomic():
                    changed = FollowUp.objects.filter(pk=pk, status=Status.FAILED).update(
                        status=Status.PENDING, attempts=0, available_at=now, last_error=""
                    )
            except IntegrityError:
                continue
            if changed:
                retried += 1
                transaction.on_commit(lambda pk=pk: _enqueue(pk))
    return retried


def sweep(*, now: datetime.datetime | None = None) -> dict:
    """Requeue follow-ups whose worker died, and enqueue every pending one again.

    A row left running for FOLLOWUP_STUCK_MINUTES lost its worker: it goes back to pending
    (the handler is idempotent). A pending row due for a minute or more lost its message (or
    never had one: its commit's enqueue failed): it is enqueued again.
    """
    now = now or timezone.now()
    stuck_before = now - datetime.timedelta(minutes=settings.FOLLOWUP_STUCK_MINUTES)
    with transaction.atomic():
        requeued = FollowUp.objects.filter(
            status=Status.RUNNING, claimed_at__lt=stuck_before
        ).update(status=Status.PENDING, available_at=now)
        due = list(
            FollowUp.objects.filter(status=Status.PENDING, available_at__lte=now)
            .filter(Q(created_at__lt=now - datetime.timedelta(minutes=1)) | Q(attempts__gt=0))
            .order_by("available_at", "pk")
            .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
        )
        for pk in due:
            transaction.on_commit(lambda pk=pk: _enqueue(pk))
    return {"requeued": requeued, "enqueued": len(due)}
