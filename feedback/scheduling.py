"""When feedback rounds open, who is prompted, when reminders go out and when rounds close.

The one home of the scheduling rules. Celery beat only ticks; every function below reads the
database to decide what is due, so running it twice, late, or twice at once changes nothing.

Rules
-----
* Periods. A pilot's period starts on its ``cadence_weekday`` at FEEDBACK_ROUND_OPEN_HOUR (9:00
  by default) in its team's time zone: every week (weekly), every other week counted from the
  fixed anchor week of 2024-01-01 (biweekly), or on the first such weekday of each month
  (monthly). Daylight-saving changes move the UTC instant, never the local hour.
* Approved standards are surveyed monthly, whatever cadence they had as a pilot: the
  experiment is over and a monthly pulse keeps the load on everyone low. Sandbox and pilot
  stages use the pilot's own cadence. Other stages open no round.
* Planned dates. No round opens for a period that begins before the pilot's planned start:
  a pilot approved early waits for its first period on or after that date. Past its planned
  end a pilot is not ended automatically; rounds go on while it runs, and the Ops home lists
  pilots past their planned end so that Ops decide.
* Opening. A round opens for the *current* period only, at the first tick after the period
  began. Its window is ``response_window_days`` from the moment it actually opens, cut at the
  start of the next period, so a pilot never has two open rounds. If beat was down, past
  periods are not replayed: the next tick opens the current period's round once. A round that
  would be open for less than FEEDBACK_MIN_WINDOW_HOURS (24 h) before the next period is not
  opened; that period goes without a round.
* Prompts. Every active participant of the pilot gets one prompt per round (database
  constraint), except those away (a feedback.Absence covering the period's start date).
* Invitations and reminders are deliveries of the one outbox, queued with the round (and at
  halfway for the reminder) and delivered at most once: feedback.invitations holds their rules.
  Ops re-send a failed invitation (resend_invitation, an explicit human decision; it goes out
  with a fresh link).
* Closing. A round whose window has passed is closed: invited and response counts, results
  (feedback.results.compute_results) and, after commit, the guardrail evaluation.
* Ops acting now. open_rounds_now, remind_now and close_round_now (admin actions and
  ``manage.py rounds``) are these same functions for chosen pilots or rounds, at once, by an
  active Ops user who is logged as who acted: the round the beat would open now (or the
  reason there is none), the one reminder per prompt before halfway, the close before the
  window ends. A repeat changes nothing and is refused saying why.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import dispatch, followups
from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from pilots.models import ACTIVE_STAGES, Pilot, Stage

from . import access, answering, invitations
from . import results as round_results
from .models import Absence, FeedbackRound, Prompt, Questionnaire

logger = logging.getLogger(__name__)

# Fortnights are counted from this Monday, so a biweekly pilot's weeks never depend on when
# it was created or promoted.
BIWEEKLY_ANCHOR = datetime.date(2024, 1, 1)
# Follow-up work a closed round asks for (its guardrails' evaluation, registered by pilots).
ROUND_CLOSED = "round_closed"


# ---------------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True)
class Period:
    start: datetime.date
    opens_at: datetime.datetime
    next_opens_at: datetime.datetime


def effective_cadence(pilot: Pilot) -> str:
    """Return the cadence rounds follow: monthly for approved standards, else the pilot's."""
    if pilot.stage == Stage.APPROVED:
        return Pilot.Cadence.MONTHLY
    return pilot.cadence


def _first_weekday_of_month(year: int, month: int, weekday: int) -> datetime.date:
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(weekday - first.weekday()) % 7)


def _shift_month(day: datetime.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def period_start_on_or_before(cadence: str, weekday: int, day: datetime.date) -> datetime.date:
    """Return the start date of the period that contains the local date `day`."""
    if cadence == Pilot.Cadence.WEEKLY:
        return day - datetime.timedelta(days=(day.weekday() - weekday) % 7)
    if cadence == Pilot.Cadence.BIWEEKLY:
        first = BIWEEKLY_ANCHOR + datetime.timedelta(days=weekday)
        return day - datetime.timedelta(days=(day - first).days % 14)
    start = _first_weekday_of_month(day.year, day.month, weekday)
    if start > day:
        start = _first_weekday_of_month(*_shift_month(day, -1), weekday)
    return start


def next_period_start(cadence: str, weekday: int, start: datetime.date) -> datetime.date:
    if cadence == Pilot.Cadence.WEEKLY:
        return start + datetime.timedelta(days=7)
    if cadence == Pilot.Cadence.BIWEEKLY:
        return start + datetime.timedelta(days=14)
    return _first_weekday_of_month(*_shift_month(start, 1), weekday)


def opening_instant(day: datetime.date, tz: ZoneInfo) -> datetime.datetime:
    hour = settings.FEEDBACK_ROUND_OPEN_HOUR
    # In UTC, so that subtracting two instants counts real hours across a DST change.
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz).astimezone(datetime.UTC)


def current_period(pilot: Pilot, *, now: datetime.datetime) -> Period:
    """Return the pilot's period that has begun most recently at `now`.

    Raises ZoneInfoNotFoundError if the team's time zone is unknown.
    """
    tz = ZoneInfo(pilot.team.timezone)
    cadence = effective_cadence(pilot)
    weekday = pilot.cadence_weekday
    start = period_start_on_or_before(cadence, weekday, now.astimezone(tz).date())
    if opening_instant(start, tz) > now:  # today is the start day, before the opening hour
        start = period_start_on_or_before(cadence, weekday, start - datetime.timedelta(days=1))
    return Period(
        start=start,
        opens_at=opening_instant(start, tz),
        next_opens_at=opening_instant(next_period_start(cadence, weekday, start), tz),
    )


def round_window(
    pilot: Pilot, period: Period, *, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime] | None:
    """Return (opens_at, closes_at) for a round opening now, or None if too little time is left."""
    closes_at = min(now + datetime.timedelta(days=pilot.response_window_days), period.next_opens_at)
    if closes_at - now < datetime.timedelta(hours=settings.FEEDBACK_MIN_WINDOW_HOURS):
        return None
    return now, closes_at


# ---------------------------------------------------------------------------------------------
# Opening rounds and creating prompts


def _default_questionnaire() -> Questionnaire | None:
    return Questionnaire.objects.filter(is_default=True, is_current=True).first()


def first_period_start(pilot: Pilot) -> datetime.date:
    """Return the start of the pilot's first period that begins on or after its planned start."""
    cadence = effective_cadence(pilot)
    start = period_start_on_or_before(cadence, pilot.cadence_weekday, pilot.planned_start)
    if start < pilot.planned_start:
        start = next_period_start(cadence, pilot.cadence_weekday, start)
    return start


def plan_round(pilot: Pilot, *, questionnaire: Questionnaire, now: datetime.datetime):
    """Return the round (unsaved) the pilot's current period gets if it opens now.

    Raises ValidationFailed saying why the period gets no round: the pilot is not running
    (code pilot_not_running), its team's time zone is unknown (unknown_time_zone), the period
    begins before the planned start (before_planned_start) or less than a day would be left
    (too_little_time). Whether the period already has a round is for the caller to check.
    """
    if pilot.stage not in ACTIVE_STAGES:
        raise ValidationFailed(
            _("The pilot is %(stage)s: only sandbox, pilot and approved pilots get rounds.")
            % {"stage": pilot.get_stage_display()},
            code="pilot_not_running",
            field="pilot",
        )
    try:
        period = current_period(pilot, now=now)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            _("The team's time zone “%(zone)s” is unknown: fix it in the team's settings.")
            % {"zone": pilot.team.timezone},
            code="unknown_time_zone",
            field="timezone",
        ) from None
    if period.start < pilot.planned_start:
        # The experiment has not started: its first round is the first period that begins on
        # or after the planned start. (Past the planned end rounds go on while the pilot runs:
        # Ops decide when it ends, and their home lists pilots past their end.)
        raise ValidationFailed(
            _(
                "The current period began on %(start)s, before the pilot's planned start "
                "(%(planned)s): its first round opens on %(first)s."
            )
            % {
                "start": date_format(period.start),
                "planned": date_format(pilot.planned_start),
                "first": date_format(first_period_start(pilot)),
            },
            code="before_planned_start",
            field="planned_start",
        )
    window = round_window(pilot, period, now=now)
    if window is None:
        raise ValidationFailed(
            _(
                "Less than a day is left before the next period begins (%(next)s): this "
                "period gets no round."
            )
            % {"next": date_format(period.next_opens_at.astimezone(ZoneInfo(pilot.team.timezone)))},
            code="too_little_time",
            field="period",
        )
    return FeedbackRound(
        pilot_id=pilot.pk,
        questionnaire=questionnaire,
        period_start=period.start,
        opens_at=window[0],
        closes_at=window[1],
        # Fixed for the round's life: answering follows the round, not the pilot.
        anonymous=pilot.anonymous_feedback,
    )


def open_due_rounds(
    *, now: datetime.datetime | None = None, pilot_ids: Collection[int] | None = None
) -> list[int]:
    """Open the current period's round of every active pilot that has none; return round ids.

    `pilot_ids` limits it to those pilots (Ops opening a round now); beat opens for all.
    Creates the rounds and their prompts in one transaction with a constant number of queries,
    with their invitations (sent by the outbox after commit, one message for every round). Running
    it twice, or twice at once, opens nothing twice: (pilot, period_start) is unique and
    conflicts are ignored.
    """
    now = now or timezone.now()
    questionnaire = _default_questionnaire()
    if questionnaire is None:
        logger.warning("No default questionnaire: no feedback round can open.")
        return []
    pilots = Pilot.objects.active().select_related("team").order_by("pk")
    if pilot_ids is not None:
        pilots = pilots.filter(pk__in=pilot_ids)
    planned: dict[int, FeedbackRound] = {}
    for pilot in pilots:
        try:
            planned[pilot.pk] = plan_round(pilot, questionnaire=questionnaire, now=now)
        except ValidationFailed as e:
            if e.code == "unknown_time_zone":
                logger.error(
                    "Pilot %s: unknown time zone %r, no round opened.",
                    pilot.pk,
                    pilot.team.timezone,
                )
    if not planned:
        return []
    starts = {r.period_start for r in planned.values()}
    existing = set(
        FeedbackRound.objects.filter(pilot_id__in=planned, period_start__in=starts).values_list(
            "pilot_id", "period_start"
        )
    )
    new = [r for r in planned.values() if (r.pilot_id, r.period_start) not in existing]
    if not new:
        return []
    wanted = {(r.pilot_id, r.period_start) for r in new}
    with transaction.atomic():
        # A concurrent run may insert the same rounds: the unique constraint
        # feedback_feedbackround_one_per_period makes the loser's rows no-ops.
        FeedbackRound.objects.bulk_create(new, ignore_conflicts=True)
        round_ids = [
            pk
            for pk, pilot_id, start in FeedbackRound.objects.open()
            .filter(pilot_id__in=[p for p, _s in wanted], period_start__in=starts)
            .values_list("pk", "pilot_id", "period_start")
            if (pilot_id, start) in wanted
        ]
        create_prompts(round_ids, now=now)
        # In the same transaction: the invitations (core.outbox), sent after commit.
        invitations.queue_invitations(round_ids)
    logger.info("Opened %d feedback round(s).", len(round_ids))
    return round_ids


@dataclass
class RoundsOpened:
    """What `open_rounds_now` did: the rounds it opened, and why the other pilots got none."""

    opened: list[FeedbackRound]  # annotated with `prompt_count`
    refused: dict[int, DomainError]  # by pilot id


def open_rounds_now(
    pilot_ids: Collection[int], *, actor, now: datetime.datetime | None = None
) -> RoundsOpened:
    """Open now, for these pilots, the round the beat would open (Ops only).

    Calls `open_due_rounds` limited to these pilots: same rules, same constraint, same
    idempotence (a second call opens nothing and says the round is already open). Each pilot
    that gets no round is explained: not running, period before the planned start, less than
    a day left, or the period already has its round. Raises PermissionRefused for anyone but
    Ops and ValidationFailed (no_default_questionnaire) when no round can open at all.
    """
    _require_ops(actor, _("Only Ops can open a feedback round."))
    now = now or timezone.now()
    questionnaire = _default_questionnaire()
    if questionnaire is None:
        raise ValidationFailed(
            _(
                "No questionnaire is marked as the current default: no round can open. Mark one"
                " as the default in the admin."
            ),
            code="no_default_questionnaire",
            field="questionnaire",
        )
    wanted = list(dict.fromkeys(pilot_ids))
    round_ids = open_due_rounds(now=now, pilot_ids=wanted)
    opened = list(
        FeedbackRound.objects.filter(pk__in=round_ids)
        .select_related("pilot")
        .annotate(prompt_count=Count("prompts"))
        .order_by("pilot_id")
    )
    refused: dict[int, DomainError] = {}
    not_opened = [pk for pk in wanted if pk not in {r.pilot_id for r in opened}]
    pilots = Pilot.objects.select_related("team").in_bulk(not_opened)
    periods: dict[int, datetime.date] = {}
    for pk in not_opened:
        pilot = pilots.get(pk)
        if pilot is None:
            refused[pk] = ValidationFailed(
                _("No pilot has the id %(id)s.") % {"id": pk}, code="pilot_not_found", field="pilot"
            )
            continue
        try:
            periods[pk] = plan_round(pilot, questionnaire=questionnaire, now=now).period_start
        except ValidationFailed as e:
            refused[pk] = e
    # Left: pilots whose current period already has its round (opened earlier, maybe by beat).
    for round_ in FeedbackRound.objects.filter(
        pilot_id__in=periods, period_start__in=set(periods.values())
    ):
        if periods.get(round_.pilot_id) == round_.period_start:
            refused[round_.pilot_id] = _already_has_round(round_)
    for pk in periods.keys() - refused.keys():
        # Planned but neither opened nor found: the beat's unique-constraint race would leave
        # a round behind, so this is only a pilot paused or stopped in between.
        refused[pk] = ValidationFailed(
            _("No round was opened: the pilot changed meanwhile. Reload and try again."),
            code="pilot_changed",
            field="pilot",
        )
    refused = {pk: refused[pk] for pk in not_opened}
    if opened:
        logger.info(
            "Feedback round(s) %s opened now by user %s.",
            ", ".join(str(r.pk) for r in opened),
            actor.pk,
        )
    return RoundsOpened(opened=opened, refused=refused)


def _require_ops(actor, message: str) -> None:
    if not access.may_run_rounds(actor):
        raise PermissionRefused(message)


def _already_has_round(round_: FeedbackRound) -> ValidationFailed:
    if round_.status == FeedbackRound.Status.OPEN:
        return ValidationFailed(
            _("The round of the period that began on %(start)s is already open.")
            % {"start": date_format(round_.period_start)},
            code="round_already_open",
            field="period",
        )
    return ValidationFailed(
        _(
            "The period that began on %(start)s already had its round (closed); the next round"
            " opens when the next period begins."
        )
        % {"start": date_format(round_.period_start)},
        code="round_already_closed",
        field="period",
    )


def _random_hash_sql() -> str:
    # A placeholder: the hash of 244 random bits nobody knows. A prompt gets its real token only
    # when its email is built (feedback.invitations), so no token exists before that.
    if connection.vendor == "postgresql":
        return (
            "encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text,"
            " 'UTF8')), 'hex')"
        )
    if connection.vendor == "sqlite":
        return "lower(hex(randomblob(32)))"
    raise NotImplementedError(f"create_prompts does not support {connection.vendor}")


def create_prompts(round_ids: list[int], *, now: datetime.datetime | None = None) -> int:
    """Create the missing prompts of open rounds, one per participant not away; return how many.

    One INSERT … SELECT for any number of rounds and participants. bulk_create was measured
    at 5 to 8 times the cost of a COPY of the same rows (Django prepares every value in
    Python); this statement keeps the fan-out in the database with the same idempotence:
    ON CONFLICT on feedback_prompt_one_per_participant does nothing.
    """
    if not round_ids:
        return 0
    now = now or timezone.now()
    user_model = get_user_model()
    prompt_table = Prompt._meta.db_table
    computed = {
        "round": "r.id",
        "participant": "pp.user_id",
        "token_hash": _random_hash_sql(),
    }
    columns, expressions, params = [], [], []
    for field in Prompt._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in computed:
            expressions.append(computed[field.name])
            continue
        # Any other column takes its model default, so a field added later needs no change here.
        value = now if field.name == "created_at" else field.get_default()
        expressions.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    placeholders = ", ".join(["%s"] * len(round_ids))
    sql = f"""
        INSERT INTO {prompt_table} ({", ".join(columns)})
        SELECT {", ".join(expressions)}
        FROM {FeedbackRound._meta.db_table} r
        JOIN {Pilot.participants.through._meta.db_table} pp ON pp.pilot_id = r.pilot_id
        JOIN {user_model._meta.db_table} u ON u.id = pp.user_id
        WHERE r.id IN ({placeholders}) AND r.status = %s AND u.is_active
          AND NOT EXISTS (
            SELECT 1 FROM {Absence._meta.db_table} a
            WHERE a.user_id = pp.user_id AND a.starts_on <= r.period_start
              AND a.ends_on >= r.period_start)
        ON CONFLICT (round_id, participant_id) DO NOTHING
    """  # noqa: S608 # nosec B608 - only table/column names from the models are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *round_ids, FeedbackRound.Status.OPEN])
        return max(cursor.rowcount, 0)


# ---------------------------------------------------------------------------------------------
# Reminders and re-sends (the emails themselves: feedback.invitations, on the outbox)


def remind(*, now: datetime.datetime | None = None) -> list[int]:
    """Queue the one reminder of unanswered prompts in open rounds past half their window.

    Returns the rounds with reminders queued by this call; they are sent after commit.
    Participants away that day are skipped for good (feedback.invitations.queue_reminders).
    """
    now = now or timezone.now()
    due: list[FeedbackRound] = [
        r
        for r in FeedbackRound.objects.open()
        .filter(closes_at__gt=now, opens_at__lte=now, pilot__stage__in=ACTIVE_STAGES)
        .select_related("pilot__team")
        if r.opens_at + (r.closes_at - r.opens_at) / 2 <= now
    ]
    if not due:
        return []
    with transaction.atomic():
        queued = invitations.queue_reminders(due, now=now)
    return sorted(queued)


def remind_now(round_id: int, *, actor, now: datetime.datetime | None = None) -> int:
    """Queue the reminders of an open round now, before its halfway point (Ops only).

    The same reminder the beat queues halfway through the window: to sent, unanswered
    prompts, not to participants away today, and never a second one to the same prompt. Its
    reminders are sent after commit, as the beat's are. Returns how many reminders
    were queued; raises ValidationFailed if the round is gone or closed, the pilot is not
    running, or no prompt is left to remind (so a repeat reminds nobody twice).
    """
    _require_ops(actor, _("Only Ops can send reminders."))
    now = now or timezone.now()
    with transaction.atomic():
        # The row close_round locks: a close either happened first (refused here) or waits
        # for this commit and then skips the reminders still queued.
        round_ = (
            FeedbackRound.objects.select_for_update(of=("self",))
            .select_related("pilot__team")
            .filter(pk=round_id)
            .first()
        )
        _check_round_running(round_, now=now, doing=_("No reminder can go out"))
        queued = sum(invitations.queue_reminders([round_], now=now).values())
        if not queued:
            raise ValidationFailed(
                _(
                    "No reminder to send: every invitation of this round that went out has been"
                    " answered or has had its one reminder, or its participant is away today."
                ),
                code="nothing_to_remind",
                field="round",
            )
    logger.info(
        "%d reminder(s) of feedback round %s queued now by user %s.", queued, round_id, actor.pk
    )
    return queued


def _check_round_running(
    round_: FeedbackRound | None, *, now: datetime.datetime, doing: str
) -> None:
    if round_ is None:
        raise ValidationFailed(
            _("This feedback round does not exist."), code="round_not_found", field="round"
        )
    if round_.status != FeedbackRound.Status.OPEN or round_.closes_at <= now:
        raise ValidationFailed(
            _("%(doing)s: the round is closed.") % {"doing": doing},
            code="round_closed",
            field="round",
        )
    if round_.pilot.stage not in ACTIVE_STAGES:
        raise ValidationFailed(
            _("%(doing)s: the pilot is %(stage)s.")
            % {"doing": doing, "stage": round_.pilot.get_stage_display()},
            code="pilot_inactive",
            field="round",
        )


def resend_invitation(prompt_id: int, *, actor, now: datetime.datetime | None = None) -> Prompt:
    """Queue a failed invitation again, as Ops decide; it goes out with a fresh link.

    For a prompt whose latest invitation or reminder failed (a send whose outcome is unknown
    is failed rather than risk a second email). Refused for anyone but Ops, an answered
    prompt, a closed round, a pilot no longer active, or a prompt whose email did not fail.
    The new token is minted when the email is built, which kills the link of any earlier one.
    """
    if not access.may_resend_invitation(actor):
        raise PermissionRefused(_("Only Ops can re-send an invitation."))
    prompt = invitations.resend(prompt_id, actor=actor, now=now)
    logger.info("Invitation of prompt %s queued again by user %s.", prompt.pk, actor.pk)
    return prompt


# ---------------------------------------------------------------------------------------------
# Closing


def close_due_rounds(*, now: datetime.datetime | None = None) -> list[int]:
    """Enqueue `close_round` for every open round whose window has passed; return their ids."""
    now = now or timezone.now()
    round_ids = list(
        FeedbackRound.objects.due_to_close(now).order_by("closes_at").values_list("pk", flat=True)
    )
    for round_id in round_ids:
        transaction.on_commit(lambda pk=round_id: _enqueue_close(pk))
    return round_ids


CLOSE_TASK = "feedback.tasks.close_round"


def _enqueue_close(round_id: int) -> None:
    # By name from the app's registry: the domain never imports its task module. A lost message
    # costs nothing: the next tick finds the round still due and enqueues it again.
    dispatch.enqueue(CLOSE_TASK, round_id)


def close_round(round_id: int, *, now: datetime.datetime | None = None) -> FeedbackRound | None:
    """Close an open round: counts, results, then (after commit) its guardrail evaluation.

    Returns the closed round, or None if it is gone or already closed (a repeat is a no-op).
    Answers saved concurrently lock the same round row, so each lands either before the
    close (and is counted) or after it (and is refused as too late).
    """
    now = now or timezone.now()
    with transaction.atomic():
        round_ = FeedbackRound.objects.select_for_update().filter(pk=round_id).first()
        if round_ is None or round_.status != FeedbackRound.Status.OPEN:
            return None
        round_.status = FeedbackRound.Status.CLOSED
        round_.closed_at = now
        # Read after the lock: answers committed while the close waited are counted.
        round_.invited_count, round_.response_count, round_.results = round_results.round_figures(
            round_
        )
        round_.save(
            update_fields=["status", "closed_at", "invited_count", "response_count", "results"]
        )
        # The shown questions' figures as rows too, for pages that pool them over many rounds.
        round_results.store_summaries([round_])
        # Nothing goes out for a closed round any more.
        invitations.cancel_round(round_.pk)
        if round_.anonymous:
            # No row order, position or version stamp left to pair a prompt with its response.
            answering.scatter_rows(round_)
        # Written with the close: a broker that loses the task's message delays the
        # evaluation, never drops it (core.followups sweeps pending work).
        followups.request(ROUND_CLOSED, key=f"round:{round_.pk}", payload={"round_id": round_.pk})
    return round_


def close_round_now(round_id: int, *, actor, now: datetime.datetime | None = None) -> FeedbackRound:
    """Close an open round now, before its window ends (Ops only).

    `close_round` as the beat runs it: it locks the round, records counts and results, and
    enqueues the guardrail evaluation after commit. Answers from then on are refused as too
    late. Raises ValidationFailed if the round does not exist or is already closed (so a
    repeat closes nothing twice).
    """
    _require_ops(actor, _("Only Ops can close a feedback round."))
    closed = close_round(round_id, now=now)
    if closed is None:
        if not FeedbackRound.objects.filter(pk=round_id).exists():
            raise ValidationFailed(
                _("This feedback round does not exist."), code="round_not_found", field="round"
            )
        raise ValidationFailed(
            _("This round is already closed."), code="round_closed", field="round"
        )
    logger.info("Feedback round %s closed now by user %s.", round_id, actor.pk)
    return closed
