"""Invitations and reminders: the participant emails of a round, as kinds of the one outbox.

* Queued with the round. Opening a round writes one invitation delivery per prompt (one
  INSERT … SELECT, whatever the number of participants), in the round's batch
  ("round:<id>"); a worker sends the batch after commit (core.outbox).
* A token only in the email. The token is minted when the email is built, by a conditional
  UPDATE of the prompt (still unanswered, round open, pilot running) that stores its hash:
  the raw token exists only in the email, and a new email kills the link of any earlier one.
  A prompt answered meanwhile (from the inbox) needs no email and keeps its link: the delivery
  is cancelled. A closed round or stopped pilot: cancelled. A paused pilot: the delivery waits
  (postponed) and goes out if it resumes while the round is open.
* At most once. A send whose mail call raised did not go out: retried, three tries in all,
  then failed. A delivery left in "sending" by a worker that died may have gone out: failed by
  the outbox's sweep, never re-sent by itself — Ops decide (`resend_invitation`, a fresh link),
  and the participant can answer from their inbox meanwhile. So nobody gets two invitations
  for a round unless Ops re-send one.
* Reminders. One, halfway through the window (or when Ops say "now"), to prompts whose
  invitation went out and that are unanswered, except participants away that day (their
  reminder is recorded as not needed, so they get none for the round even when back). It
  carries a fresh link that replaces the first. A courtesy: one try; if its send raised, its
  new link never went out and the old one was replaced, so an invitation is queued again.
"""

from __future__ import annotations

import datetime
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import languages, outbox
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import Delivery
from pilots.models import ACTIVE_STAGES, Stage

from . import access
from .models import Absence, FeedbackRound, Prompt
from .tokens import make_token

logger = logging.getLogger(__name__)

INVITATION = "invitation"
REMINDER = "reminder"
PARTICIPANT_KINDS = (INVITATION, REMINDER)
MAX_INVITATION_ATTEMPTS = 3
POSTPONE_SECONDS = 600
Status = Delivery.Status


def batch_of(round_id: int) -> str:
    return f"round:{round_id}"


def answer_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("feedback_answer", args=[token])


# ---------------------------------------------------------------------------------------------
# Queueing


def _json_payload_sql() -> str:
    if connection.vendor == "postgresql":
        return "jsonb_build_object('prompt_id', p.id)"
    if connection.vendor == "sqlite":
        return "json_object('prompt_id', p.id)"
    raise NotImplementedError(f"queue_invitations does not support {connection.vendor}")


def queue_invitations(round_ids: list[int]) -> int:
    """Write the first invitation of every prompt of these rounds that has none; return how many.

    One INSERT … SELECT in the caller's transaction, idempotent on the delivery's unique key
    (ON CONFLICT DO NOTHING): running it twice, or twice at once, queues each invitation once.
    Participants without an email get none (they answer from their inbox).
    """
    if not round_ids:
        return 0
    prompt_type = ContentType.objects.get_for_model(Prompt)
    table = Delivery._meta.db_table
    # Due at once, whatever logical time the caller passes (the outbox compares with the clock).
    stamp = Delivery._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    # (column, SQL expression, parameter when the expression is a placeholder)
    values = [
        ("kind", "%s", INVITATION),
        ("channel", "%s", "email"),
        ("recipient", "u.email", None),
        ("recipient_user_id", "p.participant_id", None),
        ("subject_type_id", "%s", prompt_type.pk),
        ("subject_id", "CAST(p.id AS TEXT)", None),
        ("batch", "'round:' || CAST(p.round_id AS TEXT)", None),
        ("dedupe_key", f"'{INVITATION}:' || CAST(p.id AS TEXT) || ':1'", None),
        ("payload", _json_payload_sql(), None),
        ("status", "%s", Status.QUEUED),
        ("attempts", "%s", 0),
        ("created_at", "%s", stamp),
        ("next_attempt_at", "%s", stamp),
        ("last_error", "%s", ""),
    ]
    columns = ", ".join(connection.ops.quote_name(column) for column, _e, _p in values)
    expressions = ", ".join(expression for _c, expression, _p in values)
    params = [param for _c, expression, param in values if expression == "%s"]
    placeholders = ", ".join(["%s"] * len(round_ids))
    sql = f"""
        INSERT INTO {table} ({columns})
        SELECT {expressions}
        FROM {Prompt._meta.db_table} p
        JOIN {Prompt.participant.field.related_model._meta.db_table} u ON u.id = p.participant_id
        WHERE p.round_id IN ({placeholders}) AND u.email <> '' AND NOT p.answered
        ON CONFLICT (dedupe_key) DO NOTHING
    """  # noqa: S608 # nosec B608 - only table and column names of the models are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *round_ids])
        queued = max(cursor.rowcount, 0)
    outbox.deliver_batches_after_commit(INVITATION, [batch_of(pk) for pk in round_ids])
    return queued


def _deliveries_of(prompt_ids, kinds=PARTICIPANT_KINDS):
    prompt_type = ContentType.objects.get_for_model(Prompt)
    return Delivery.objects.filter(
        kind__in=kinds, subject_type=prompt_type, subject_id__in=[str(pk) for pk in prompt_ids]
    )


def queue_reminders(rounds: list[FeedbackRound], *, now: datetime.datetime) -> dict[int, int]:
    """Queue the one reminder of each remindable prompt of these rounds: {round id: how many}.

    Run in the caller's transaction. A prompt gets a reminder when its invitation went out, it
    is unanswered, and it had none yet (the delivery's unique key keeps it to one); a
    participant away that day gets a reminder recorded as not needed, so none later either.
    """
    if not rounds:
        return {}
    prompt_type = ContentType.objects.get_for_model(Prompt)
    sent_invitation = Delivery.objects.filter(
        kind=INVITATION,
        status=Status.SENT,
        subject_type=prompt_type,
        subject_id=OuterRef("pk_text"),
    )
    reminded = Delivery.objects.filter(
        kind=REMINDER, subject_type=prompt_type, subject_id=OuterRef("pk_text")
    )
    candidates = list(
        Prompt.objects.filter(round__in=rounds, answered=False)
        .exclude(participant__email="")
        .annotate(pk_text=Cast("pk", CharField()))
        .filter(Exists(sent_invitation))
        .exclude(Exists(reminded))
        .values_list("pk", "round_id", "participant_id", "participant__email")
    )
    if not candidates:
        return {}
    local_day = {}
    for r in rounds:
        try:
            local_day[r.pk] = now.astimezone(ZoneInfo(r.pilot.team.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            local_day[r.pk] = now.date()
    days = set(local_day.values())
    away: dict[int, list] = {}
    for user_id, starts, ends in Absence.objects.filter(
        user_id__in={c[2] for c in candidates}, starts_on__lte=max(days), ends_on__gte=min(days)
    ).values_list("user_id", "starts_on", "ends_on"):
        away.setdefault(user_id, []).append((starts, ends))
    rows: list[Delivery] = []
    queued: dict[int, int] = {}
    for pk, round_id, user_id, email in candidates:
        is_away = any(s <= local_day[round_id] <= e for s, e in away.get(user_id, []))
        rows.append(
            Delivery(
                kind=REMINDER,
                recipient=email,
                recipient_user_id=user_id,
                subject_type=prompt_type,
                subject_id=str(pk),
                batch=batch_of(round_id),
                dedupe_key=f"{REMINDER}:{pk}",
                payload={"prompt_id": pk},
                status=Status.CANCELLED if is_away else Status.QUEUED,
            )
        )
        if not is_away:
            queued[round_id] = queued.get(round_id, 0) + 1
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    outbox.deliver_batches_after_commit(REMINDER, [batch_of(pk) for pk in sorted(queued)])
    return queued


def cancel_round(round_id: int) -> int:
    """Nothing goes out for a closed round any more: cancel what is still queued."""
    return Delivery.objects.filter(
        kind__in=PARTICIPANT_KINDS, batch=batch_of(round_id), status=Status.QUEUED
    ).update(status=Status.CANCELLED)


def latest_failed(prompt_id: int) -> bool:
    """Tell whether the prompt's latest invitation or reminder failed (Ops may re-send)."""
    latest = _deliveries_of([prompt_id]).order_by("-pk").values_list("status", flat=True).first()
    return latest == Status.FAILED


def queue_again(prompt: Prompt) -> Delivery | None:
    """Queue a further invitation of a prompt (a re-send); it mints a fresh link when sent.

    Keyed on the prompt's latest email: re-sending after the same failure twice (two Ops at
    once, a double click) queues one invitation.
    """
    latest = _deliveries_of([prompt.pk]).order_by("-pk").values_list("pk", flat=True).first()
    delivery = outbox.enqueue(
        INVITATION,
        recipient=prompt.participant.email,
        recipient_user=prompt.participant,
        dedupe_key=f"{INVITATION}:{prompt.pk}:after:{latest}",
        payload={"prompt_id": prompt.pk},
        subject=prompt,
        batch=batch_of(prompt.round_id),
        send_after_commit=False,
    )
    outbox.deliver_batches_after_commit(INVITATION, [batch_of(prompt.round_id)])
    return delivery


# ---------------------------------------------------------------------------------------------
# Building and the failures of each kind


def _claimable(now: datetime.datetime) -> Exists:
    # An EXISTS on the prompt's own row (not a join), so the UPDATE stays a single-table
    # statement whose WHERE PostgreSQL re-checks on the locked row after a concurrent update.
    return Exists(
        FeedbackRound.objects.filter(
            pk=OuterRef("round_id"),
            status=FeedbackRound.Status.OPEN,
            closes_at__gt=now,
            pilot__stage__in=ACTIVE_STAGES,
        )
    )


def _email(template: str, prompt: Prompt, token: str) -> outbox.Email:
    round_ = prompt.round
    tz = ZoneInfo(round_.pilot.team.timezone)
    context = {
        "pilot": round_.pilot,
        "round": round_,
        "participant": prompt.participant,
        "link": answer_url(token),
        "closes_at": round_.closes_at.astimezone(tz),
        "site_url": settings.SITE_URL,
    }
    with translation.override(languages.language_of(prompt.participant)):
        subject = render_to_string(f"feedback/email/{template}_subject.txt", context)
        body = render_to_string(f"feedback/email/{template}.txt", context)
    return outbox.Email(subject=subject, body=body)


def prepare(deliveries: list[Delivery]) -> None:
    """Read the prompts of a chunk of deliveries (with what their emails show) in one query.

    Read only, before any claim: each token is still minted by `_build` after its delivery is
    claimed, so a delivery another worker takes first keeps that worker's link.
    """
    ids = [d.payload.get("prompt_id") for d in deliveries]
    prompts = Prompt.objects.select_related("participant", "round__pilot__team").in_bulk(
        [pk for pk in ids if isinstance(pk, int)]
    )
    for delivery, pk in zip(deliveries, ids, strict=True):
        delivery.prefetched_prompt = prompts.get(pk)


def _build(delivery: Delivery, template: str) -> outbox.Email | None:
    prompt_id = delivery.payload.get("prompt_id")
    now = timezone.now()
    token, token_hash = make_token()
    minted = (
        Prompt.objects.filter(pk=prompt_id, answered=False)
        .filter(_claimable(now))
        .update(token_hash=token_hash)
    )
    if not minted:
        prompt = Prompt.objects.select_related("round__pilot").filter(pk=prompt_id).first()
        round_ = prompt.round if prompt is not None else None
        if round_ is None or round_.status != FeedbackRound.Status.OPEN or round_.closes_at <= now:
            return None  # the round closed: not needed any more
        if prompt.answered:
            # Answered meanwhile (from the inbox): no email, and a new token would kill the link
            # in use. The delivery waits, queued like any other, until the round closes and
            # cancels it: a state of its own would tell Ops who answered.
            raise outbox.Postpone((round_.closes_at - now).total_seconds() + 60)
        if round_.pilot.stage == Stage.PAUSED:
            raise outbox.Postpone(POSTPONE_SECONDS)
        return None  # the pilot stopped or was retired: not needed any more
    prompt = getattr(delivery, "prefetched_prompt", None)  # read with its chunk (prepare)
    if prompt is None:
        prompt = Prompt.objects.select_related("participant", "round__pilot__team").get(
            pk=prompt_id
        )
    return _email(template, prompt, token)


def build_invitation(delivery: Delivery) -> outbox.Email | None:
    return _build(delivery, "prompt")


def build_reminder(delivery: Delivery) -> outbox.Email | None:
    return _build(delivery, "reminder")


def reminder_failed(delivery: Delivery, lost: bool) -> None:
    """A reminder whose send raised replaced the link, and its new one never went out."""
    if lost:
        return  # it may have arrived: nothing goes out again by itself (Ops may re-send)
    prompt = (
        Prompt.objects.select_related("participant", "round")
        .filter(pk=delivery.payload.get("prompt_id"), answered=False)
        .first()
    )
    if prompt is not None and prompt.round.status == FeedbackRound.Status.OPEN:
        queue_again(prompt)


INVITATION_KIND = outbox.Kind(
    INVITATION,
    outbox.AT_MOST_ONCE,
    build_invitation,
    max_attempts=MAX_INVITATION_ATTEMPTS,
    private=True,
    prepare=prepare,
)
REMINDER_KIND = outbox.Kind(
    REMINDER,
    outbox.AT_MOST_ONCE,
    build_reminder,
    max_attempts=1,
    on_failed=reminder_failed,
    private=True,
    prepare=prepare,
)


def check_resendable(prompt: Prompt, *, now: datetime.datetime) -> None:
    """Refuse re-sending an invitation that is answered, of a closed round or stopped pilot,
    or whose latest invitation or reminder did not fail."""
    if prompt.answered:
        raise ValidationFailed(
            _("This prompt has been answered: there is nothing to re-send."),
            code="prompt_answered",
            field="prompt",
        )
    round_ = prompt.round
    if round_.status != FeedbackRound.Status.OPEN or round_.closes_at <= now:
        raise ValidationFailed(
            _("The round is closed: its invitations can no longer be re-sent."),
            code="round_closed",
            field="round",
        )
    if round_.pilot.stage not in ACTIVE_STAGES:
        raise ValidationFailed(
            _("The pilot is %(stage)s: no invitation goes out for it.")
            % {"stage": round_.pilot.get_stage_display()},
            code="pilot_inactive",
            field="round",
        )
    if not latest_failed(prompt.pk):
        raise ValidationFailed(
            _("Only a failed invitation or reminder can be re-sent."),
            code="not_failed",
            field="prompt",
        )


def resend(prompt_id: int, *, actor, now: datetime.datetime | None = None) -> Prompt:
    """Queue a failed invitation again, as Ops (checks in `check_resendable`); in a transaction."""
    if not access.may_resend_invitation(actor):
        raise PermissionRefused(_("Only Ops can re-send an invitation."))
    now = now or timezone.now()
    with transaction.atomic():
        prompt = (
            Prompt.objects.select_for_update(of=("self",))
            .select_related("round__pilot", "participant")
            .filter(pk=prompt_id)
            .first()
        )
        if prompt is None:
            raise ValidationFailed(
                _("This prompt no longer exists."), code="prompt_gone", field="prompt"
            )
        check_resendable(prompt, now=now)
        queue_again(prompt)
    return prompt
