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
from django.db.models import BooleanField, CharField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import languages, outbox
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import Delivery
from governance import charter
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
GROUPED_WITH = "grouped_with"  # payload key of an invitation sent inside another's email
RESEND = "resend"  # payload key of an invitation Ops re-sent: never capped nor grouped
WEEK = datetime.timedelta(days=7)
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
        payload={"prompt_id": prompt.pk, RESEND: True},
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
    """Read the prompts of a chunk of deliveries (with what their emails show, and the
    participants' languages) in one query each.

    Read only, before any claim: each token is still minted by `_build` after its delivery is
    claimed, so a delivery another worker takes first keeps that worker's link.
    """
    ids = [d.payload.get("prompt_id") for d in deliveries]
    prompts = (
        Prompt.objects.select_related("participant", "round__pilot__team")
        .annotate(charter_owed=_charter_owed())
        .in_bulk([pk for pk in ids if isinstance(pk, int)])
    )
    languages.remember(prompt.participant for prompt in prompts.values())
    for delivery, pk in zip(deliveries, ids, strict=True):
        prompt = prompts.get(pk)
        delivery.prefetched_prompt = prompt
        # Read before the claim: an acknowledgement is never withdrawn, and a version published
        # later asks nothing more of a round already open (governance.charter.owes).
        delivery.charter_cleared = prompt is not None and not prompt.charter_owed


def _charter_owed() -> ExpressionWrapper:
    """A prompt's participant owes its pilot's charter for its round: the inbox's rule too."""
    return ExpressionWrapper(
        charter.owes(
            "participant_id", pilot_field="round__pilot_id", opened_field="round__opens_at"
        ),
        output_field=BooleanField(),
    )


def _build(delivery: Delivery, template: str) -> outbox.Email | None:
    minted = _mint(
        delivery.payload.get("prompt_id"),
        timezone.now(),
        prefetched=getattr(delivery, "prefetched_prompt", None),
        charter_cleared=getattr(delivery, "charter_cleared", False),
    )
    if minted is None:
        return None
    return _email(template, *minted)


def _mint(
    prompt_id: int,
    now: datetime.datetime,
    *,
    prefetched: Prompt | None = None,
    charter_cleared: bool = False,
) -> tuple[Prompt, str] | None:
    """Mint a prompt's link for an email: (prompt, raw token), None if not needed any more.

    `prefetched`: the prompt as its chunk read it (`prepare`), to save a query per email;
    `charter_cleared`: `prepare` found the participant owes the pilot no acknowledgement.

    Raises Postpone when the email must wait (charter owed, pilot paused, answered meanwhile).
    """
    if not charter_cleared:
        _wait_for_charter(prompt_id, now)
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
    prompt = prefetched  # read with its chunk (prepare)
    if prompt is None:
        prompt = Prompt.objects.select_related("participant", "round__pilot__team").get(
            pk=prompt_id
        )
    return prompt, token


def _wait_for_charter(prompt_id: int, now: datetime.datetime) -> None:
    """Keep the email waiting while its participant owes the pilot's charter acknowledgement.

    The charter rule (governance.charter.owes) is the inbox's: a round asks for the version in
    force when it opened. The person is told why, once per pilot and charter version;
    the delivery waits, queued, until the round closes (which cancels it) or they acknowledge
    (`release_after_acknowledgement` makes it due at once). Nothing else changes: the prompt
    exists like everyone's and its token is minted when the email finally goes out.
    """
    row = (
        Prompt.objects.filter(pk=prompt_id, answered=False)
        .filter(_claimable(now))
        .annotate(charter_owed=_charter_owed())
        .values("participant_id", "round__pilot_id", "round__closes_at", "charter_owed")
        .first()
    )
    if row is None:
        return  # answered, closed or stopped: `_build` decides
    if row["charter_owed"]:
        charter.request_acknowledgement(row["participant_id"], row["round__pilot_id"])
        raise outbox.Postpone((row["round__closes_at"] - now).total_seconds() + 60)


def release_after_acknowledgement(user_id: int, pilot_id: int) -> int:
    """Make a participant's waiting invitations and reminders to a pilot's open rounds due now.

    Registered with governance.charter, run in the acknowledgement's transaction; the batches
    are sent after commit. Return how many deliveries were released.
    """
    now = timezone.now()
    round_ids = list(
        FeedbackRound.objects.filter(
            pilot_id=pilot_id, status=FeedbackRound.Status.OPEN, closes_at__gt=now
        ).values_list("pk", flat=True)
    )
    if not round_ids:
        return 0
    batches = [batch_of(pk) for pk in round_ids]
    released = 0
    for kind in PARTICIPANT_KINDS:
        count = Delivery.objects.filter(
            kind=kind,
            recipient_user_id=user_id,
            batch__in=batches,
            status=Status.QUEUED,
            next_attempt_at__gt=now,
        ).update(next_attempt_at=now)
        if count:
            outbox.deliver_batches_after_commit(kind, batches)
        released += count
    return released


def build_invitation(delivery: Delivery) -> outbox.Email | None:
    cap = max_invites_per_week()
    if not cap or delivery.recipient_user_id is None or delivery.payload.get(RESEND):
        # Not grouped: nothing for `_group_sent` to mark (a group left half-sent by a cap
        # turned off between two attempts is settled by the sweep, as a lost send is).
        delivery.grouped_others = False
        return _build(delivery, "prompt")
    return _build_grouped(delivery, cap)


# ---------------------------------------------------------------------------------------------
# Fatigue across pilots: at most FEEDBACK_MAX_INVITES_PER_WEEK invitation emails per person


def max_invites_per_week() -> int:
    """The cap on invitation emails per person and week across all pilots (0: none)."""
    return max(int(getattr(settings, "FEEDBACK_MAX_INVITES_PER_WEEK", 0) or 0), 0)


def _emails_this_week(user_id: int, now: datetime.datetime) -> list[datetime.datetime]:
    """When the person's invitation emails of the last 7 days went out (a group counts once)."""
    return sorted(
        Delivery.objects.filter(
            kind=INVITATION, recipient_user_id=user_id, status=Status.SENT, sent_at__gt=now - WEEK
        )
        .exclude(payload__has_key=GROUPED_WITH)
        .values_list("sent_at", flat=True)
    )


def _build_grouped(delivery: Delivery, cap: int) -> outbox.Email | None:
    """One email for every invitation due to this person now, within the weekly cap.

    The claimed delivery leads; the person's other due invitations (any pilot) are claimed by
    the same conditional UPDATE as any claim (queued → sending), each mints its own link, and
    they are marked sent with the leader (`_group_sent`) or failed with it (`_group_failed`).
    One that cannot go now (charter owed, pilot paused, answered meanwhile) goes back to the
    queue as it was; one no longer needed is cancelled. At the cap, the leader waits until
    the oldest email of the week is 7 days old; a round that closes first cancels it, and its
    prompt stays answerable from the inbox meanwhile: rounds keep their windows, and results
    count the same prompts.
    """
    now = timezone.now()
    user_id = delivery.recipient_user_id
    sent = _emails_this_week(user_id, now)
    if len(sent) >= cap:
        raise outbox.Postpone((sent[-cap] + WEEK - now).total_seconds() + 1)
    first = _mint(delivery.payload.get("prompt_id"), now)
    if first is None:
        return None
    items = [first]
    others = (
        Delivery.objects.filter(kind=INVITATION, recipient_user_id=user_id)
        .filter(
            Q(status=Status.QUEUED, next_attempt_at__lte=now)
            # Grouped with this one by an attempt whose send raised: its link never went out.
            | Q(status=Status.SENDING, **{f"payload__{GROUPED_WITH}": delivery.pk})
        )
        .exclude(pk=delivery.pk)
        .exclude(payload__has_key=RESEND)
        .order_by("pk")
        .values_list("pk", "status", "payload")
    )
    for pk, status, payload in others:
        prompt_id = payload.get("prompt_id")
        if status == Status.QUEUED and not Delivery.objects.filter(
            pk=pk, status=Status.QUEUED
        ).update(
            status=Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            payload={"prompt_id": prompt_id, GROUPED_WITH: delivery.pk},
        ):
            continue  # another worker has it
        mine = Delivery.objects.filter(pk=pk, status=Status.SENDING)
        try:
            minted = _mint(prompt_id, now)
        except outbox.Postpone as later:
            mine.update(
                status=Status.QUEUED,
                attempts=F("attempts") - 1,
                next_attempt_at=now + datetime.timedelta(seconds=later.seconds),
                payload={"prompt_id": prompt_id},
            )
            continue
        if minted is None:
            mine.update(status=Status.CANCELLED, payload={"prompt_id": prompt_id})
            continue
        items.append(minted)
    # Every other delivery grouped with this one is in `items` now (or back in the queue):
    # `_group_sent` has rows to mark only when some joined.
    delivery.grouped_others = len(items) > 1
    if len(items) == 1:
        return _email("prompt", *items[0])
    return _group_email(items)


def _group_email(items: list[tuple[Prompt, str]]) -> outbox.Email:
    participant = items[0][0].participant
    entries = []
    for prompt, token in items:
        round_ = prompt.round
        entries.append(
            {
                "pilot": round_.pilot,
                "link": answer_url(token),
                "closes_at": round_.closes_at.astimezone(ZoneInfo(round_.pilot.team.timezone)),
            }
        )
    context = {"participant": participant, "entries": entries, "site_url": settings.SITE_URL}
    with translation.override(languages.language_of(participant)):
        subject = render_to_string("feedback/email/prompts_subject.txt", context)
        body = render_to_string("feedback/email/prompts.txt", context)
    return outbox.Email(subject=subject, body=body)


def _group_sent(delivery: Delivery) -> None:
    """The leader went out: so did every invitation grouped with it."""
    if not getattr(delivery, "grouped_others", True):
        return  # built alone by this worker: no query
    Delivery.objects.filter(
        kind=INVITATION, status=Status.SENDING, **{f"payload__{GROUPED_WITH}": delivery.pk}
    ).update(status=Status.SENT, sent_at=timezone.now(), last_error="")


def _group_failed(delivery: Delivery, lost: bool) -> None:
    """The leader was given up: so are those grouped with it (at most once, like it)."""
    Delivery.objects.filter(
        kind=INVITATION, status=Status.SENDING, **{f"payload__{GROUPED_WITH}": delivery.pk}
    ).update(
        status=Status.FAILED,
        last_error="sent within another invitation's email: "
        + ("worker lost mid-send, delivery unknown" if lost else "the email was refused"),
    )


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
    on_sent=_group_sent,
    on_failed=_group_failed,
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
