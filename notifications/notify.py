"""Whom to tell what, and the emails that tell them.

Three follow-ups, subscribed to causes that pilots and feedback announce in their own
transactions (core.followups): a stage move, a recorded review, a closed round. Each handler
finds the audience and writes one delivery per recipient and event into the one outbox
(core.outbox), keyed by event and person: a handler run twice, a cause announced twice or a
person in two audiences (a lead who watches their own pilot) makes one delivery.

* A stage move: the lead and the watchers (STAGE); on submission, Ops instead of the lead
  (SUBMITTED, superusers included); after a decision on a running pilot, its participants
  ("we decided": DECISIONS). Whoever made the move is not told of it.
* A review: the lead and the watchers (REVIEW), not the reviewer.
* A closed round: every person invited to it ("you said": ROUND_RESULTS), with the round's
  stored results, which already hold only what the anonymity threshold allows.

The timing rule of anonymous rounds holds by construction: nothing is sent while a round is
open except what a stage move says (a pause for a reported exposure is the one accepted
leak), no email carries a count or a figure of an open round, and the digest is built only
from the results stored at close.

Deliveries are at least once (like Ops alerts): missing a decision is worse than reading it
twice, which can happen only if a worker dies between the mail server accepting the email and
the delivery being marked sent; the Message-ID is the delivery's, so a mail client shows that
rare copy as the same message. A person's topic set to "nothing" is not enqueued, and a
delivery still queued when they change their mind is cancelled. Each email is written when it
is sent, in its recipient's language then.
"""

from __future__ import annotations

import datetime
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import outbox
from core.models import Delivery
from core.ops import ops_users
from feedback import results as round_results
from feedback.anonymity import anonymity_threshold
from feedback.models import FeedbackRound, Prompt
from pilots import breach_text
from pilots.lifecycle import Action
from pilots.models import DecisionRequest, GuardrailBreach, Pilot, Review, Stage, StageChange

from . import preferences
from .models import Topic, Watch

logger = logging.getLogger(__name__)

NOTIFICATION = "notification"
# A review dated, or a round closed, longer ago than this is history being recorded (the demo's
# past, a review entered long after it happened), not news: nobody is emailed about it.
NEWS_DAYS = 14
ON_STAGE_CHANGE = "notify_stage_change"
ON_REVIEW = "notify_review"
ON_ROUND_CLOSED = "notify_round_closed"
ON_DECISION_DECLINED = "notify_decision_declined"


class As:
    """Why a person gets a notification (the footer says it)."""

    LEAD = "lead"
    WATCHER = "watcher"
    OPS = "ops"
    PARTICIPANT = "participant"
    INVITED = "invited"


WHY = {
    As.LEAD: gettext_lazy("you lead this pilot"),
    As.WATCHER: gettext_lazy("you watch this pilot"),
    As.OPS: gettext_lazy("you are in Ops"),
    As.PARTICIPANT: gettext_lazy("you take part in this pilot"),
    As.INVITED: gettext_lazy("you were invited to this feedback round"),
}

# Decisions on a pilot that its participants hear about ("we decided").
PARTICIPANT_ACTIONS = (
    Action.APPROVE,
    Action.PROMOTE,
    Action.PAUSE,
    Action.RESUME,
    Action.STOP,
    Action.RETIRE,
)

NEWS = {
    Action.SUBMIT: gettext_lazy("%(pilot)s was submitted for review"),
    Action.APPROVE: gettext_lazy("%(pilot)s was approved"),
    Action.SEND_BACK: gettext_lazy("%(pilot)s was sent back to its lead"),
    Action.REJECT: gettext_lazy("%(pilot)s was rejected"),
    Action.PROMOTE: gettext_lazy("%(pilot)s was promoted"),
    Action.PAUSE: gettext_lazy("%(pilot)s was paused"),
    Action.RESUME: gettext_lazy("%(pilot)s was resumed"),
    Action.STOP: gettext_lazy("%(pilot)s was stopped"),
    Action.RETIRE: gettext_lazy("%(pilot)s was retired"),
}


# ---------------------------------------------------------------------------------------------
# Audiences and enqueuing


def _news_since() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=NEWS_DAYS)


def _may_see(user, pilot: Pilot) -> bool:
    return Pilot.objects.visible_to(user).filter(pk=pilot.pk).exists()


def _watchers(pilot: Pilot) -> list:
    """The pilot's watchers who may still see it (a watcher may have left its team)."""
    users = [w.user for w in Watch.objects.filter(pilot=pilot).select_related("user")]
    return [u for u in users if u.is_active and _may_see(u, pilot)]


def _enqueue(
    event: str, subject, recipients: list[tuple[object, str, str]], *, exclude=None
) -> int:
    """Queue one notification per person (first audience wins); return how many."""
    queued = 0
    for user, role, topic in recipients:
        if user is None or not user.is_active or not user.email:
            continue
        if exclude is not None and user.pk == exclude:
            continue
        if not preferences.wants(user, topic):
            continue
        delivery = outbox.enqueue(
            NOTIFICATION,
            recipient=user.email,
            recipient_user=user,
            dedupe_key=f"{NOTIFICATION}:{event}:{subject.pk}:{user.pk}",
            payload={"event": event, "id": subject.pk, "as": role, "topic": topic},
            subject=subject,
        )
        queued += delivery is not None
    return queued


def _first_each(recipients: list[tuple[object, str, str]]) -> list[tuple[object, str, str]]:
    """Each person once, in the first audience that names them."""
    seen: set[int] = set()
    unique = []
    for user, role, topic in recipients:
        if user is not None and user.pk not in seen:
            seen.add(user.pk)
            unique.append((user, role, topic))
    return unique


def stage_changed(stage_change_id: int) -> int:
    """Tell the people concerned by a stage move (a follow-up: safe to run twice)."""
    change = (
        StageChange.objects.select_related("pilot", "pilot__lead")
        .filter(pk=stage_change_id)
        .first()
    )
    if change is None:
        return 0
    pilot = change.pilot
    recipients: list[tuple[object, str, str]] = []
    if change.action == Action.SUBMIT:
        recipients += [(u, As.OPS, Topic.SUBMITTED) for u in ops_users().order_by("pk")]
    else:
        recipients.append((pilot.lead, As.LEAD, Topic.STAGE))
    recipients += [(u, As.WATCHER, Topic.STAGE) for u in _watchers(pilot)]
    if change.action in PARTICIPANT_ACTIONS:
        recipients += [
            (u, As.PARTICIPANT, Topic.DECISIONS)
            for u in get_user_model().objects.filter(participations__pilot=pilot).order_by("pk")
        ]
    with transaction.atomic():
        return _enqueue("stage", change, _first_each(recipients), exclude=change.actor_id)


def review_recorded(review_id: int) -> int:
    """Tell a pilot's lead and watchers that a review was recorded."""
    review = Review.objects.select_related("pilot", "pilot__lead").filter(pk=review_id).first()
    if review is None or review.reviewed_on < _news_since().date():
        return 0
    pilot = review.pilot
    recipients = [(pilot.lead, As.LEAD, Topic.REVIEW)]
    recipients += [(u, As.WATCHER, Topic.REVIEW) for u in _watchers(pilot)]
    with transaction.atomic():
        return _enqueue("review", review, _first_each(recipients), exclude=review.reviewer_id)


def decision_declined(decision_request_id: int) -> int:
    """Tell the lead who asked that Ops declined their request for a decision, and why."""
    found = (
        DecisionRequest.objects.select_related("pilot__lead")
        .filter(pk=decision_request_id, status=DecisionRequest.Status.DECLINED)
        .first()
    )
    if found is None:
        return 0
    recipients = [(found.pilot.lead, As.LEAD, Topic.STAGE)]
    with transaction.atomic():
        return _enqueue("declined", found, recipients, exclude=found.declined_by_id)


def round_closed(round_id: int) -> int:
    """Send each person invited to a closed round its digest ("you said")."""
    round_ = FeedbackRound.objects.filter(pk=round_id).first()
    if round_ is None or round_.status != FeedbackRound.Status.CLOSED:
        return 0
    if round_.closed_at is not None and round_.closed_at < _news_since():
        return 0
    invited = get_user_model().objects.filter(
        pk__in=Prompt.objects.filter(round=round_).values("participant")
    )
    recipients = [(u, As.INVITED, Topic.ROUND_RESULTS) for u in invited.order_by("pk")]
    with transaction.atomic():
        return _enqueue("round", round_, recipients)


# ---------------------------------------------------------------------------------------------
# Writing the emails (at send time, in the recipient's language)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _footer(role: str) -> str:
    return _("You get this email because %(why)s. Choose what you are told: %(url)s") % {
        "why": WHY.get(role, WHY[As.WATCHER]),
        "url": _absolute(reverse("notifications_me")),
    }


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _stage_email(change: StageChange, role: str) -> outbox.Email:
    pilot = change.pilot
    news = NEWS.get(change.action, NEWS[Action.PAUSE]) % {"pilot": pilot.title}
    stage = Stage(change.to_stage).label
    subject = _("%(news)s (now: %(stage)s)") % {"news": news, "stage": stage}
    if change.actor is None:
        who = _("the system, because a guardrail broke")
    else:
        who = _name(change.actor)
    lines = [
        _("%(news)s on %(when)s by %(who)s: %(from)s → %(to)s.")
        % {
            "news": news,
            "from": Stage(change.from_stage).label,
            "to": stage,
            "who": who,
            "when": _when(change.created_at),
        }
    ]
    rationale = change.rationale
    breach_id = (change.evidence or {}).get("breach")
    if breach_id is not None:
        breach = GuardrailBreach.objects.filter(pk=breach_id).first()
        # Worded again in the reader's language, with what the threshold lets it say.
        rationale = breach_text.describe(breach) if breach is not None else rationale
    if rationale:
        lines.append(_("Why: %(rationale)s") % {"rationale": rationale})
    if role == As.PARTICIPANT:
        lines.append(_("Thank you for your feedback: it is part of what this decision rests on."))
    if role == As.LEAD:
        answered = DecisionRequest.objects.filter(stage_change=change).first()
        if answered is not None:
            lines.append(
                _("This answers your request of %(when)s (%(action)s).")
                % {"when": _when(answered.requested_at), "action": answered.get_action_display()}
            )
    lines.append(_absolute(pilot.get_absolute_url()))
    lines += ["", "-- ", _footer(role)]
    return outbox.Email(subject=subject, body="\n".join(lines))


def _declined_email(found: DecisionRequest, role: str) -> outbox.Email:
    pilot = found.pilot
    subject = _("%(pilot)s: Ops answered your request (%(action)s): not now") % {
        "pilot": pilot.title,
        "action": found.get_action_display(),
    }
    lines = [
        _("%(who)s answered your request of %(when)s (%(action)s) without moving %(pilot)s.")
        % {
            "who": _name(found.declined_by),
            "when": _when(found.requested_at),
            "action": found.get_action_display(),
            "pilot": pilot.title,
        },
        _("Their reply: %(reply)s") % {"reply": found.reply},
        _absolute(pilot.get_absolute_url()),
        "",
        "-- ",
        _footer(role),
    ]
    return outbox.Email(subject=subject, body="\n".join(lines))


def _review_email(review: Review, role: str) -> outbox.Email:
    pilot = review.pilot
    subject = _("%(pilot)s: %(kind)s review, %(outcome)s") % {
        "pilot": pilot.title,
        "kind": review.get_kind_display(),
        "outcome": review.get_outcome_display(),
    }
    lines = [
        _("%(reviewer)s recorded a %(kind)s review of %(pilot)s: %(outcome)s.")
        % {
            "reviewer": _name(review.reviewer),
            "kind": review.get_kind_display(),
            "pilot": pilot.title,
            "outcome": review.get_outcome_display(),
        }
    ]
    if review.notes:
        lines.append(_("Conditions or notes: %(notes)s") % {"notes": review.notes})
    lines += [_absolute(pilot.get_absolute_url()), "", "-- ", _footer(role)]
    return outbox.Email(subject=subject, body="\n".join(lines))


def _figure(entry: dict, results: dict) -> str:
    """One shown question's result in a line, from the results' own summary."""
    summary = round_results.summary_of(results, entry["key"])
    if summary is not None and entry.get("yes") is not None:
        return _("%(share)d%% yes") % {"share": round(summary.mean * 100)}
    if summary is not None:
        unit = f" {entry['unit']}" if entry.get("unit") else ""
        return _("average %(mean)s%(unit)s") % {
            "mean": formats.number_format(summary.mean, 1),
            "unit": unit,
        }
    if entry.get("choices"):
        return ", ".join(f"{label}: {count}" for _value, label, count in entry["choices"])
    return _("comments, on the pilot's page")


def digest_lines(round_: FeedbackRound, *, language: str) -> list[str]:
    """A closed round's results as a few lines: only what the stored results show."""
    results = round_.results or {}
    responses = results.get("responses", round_.response_count)
    threshold = results.get("threshold", anonymity_threshold())
    lines = [
        ngettext(
            "%(count)d person answered this round.",
            "%(count)d people answered this round.",
            responses,
        )
        % {"count": responses}
    ]
    if not results.get("shown"):
        lines.append(
            _(
                "That is fewer than %(threshold)d, so no result is shown: with so few answers, "
                "a figure could tell who said what."
            )
            % {"threshold": threshold}
        )
        return lines
    words = round_results.question_words([round_], language=language).for_round(round_)
    withheld = 0
    for stored in results.get("questions", []):
        if not stored.get("shown"):
            withheld += 1
            continue
        entry = round_results.localized_result(stored, words.get(stored["key"]))
        lines.append(f"- {entry['text']}: {_figure(entry, results)}")
    if withheld:
        # Withheld questions are counted, not listed: the digest stays short.
        lines.append(
            ngettext(
                "%(count)d other question had too few answers to show.",
                "%(count)d other questions had too few answers to show.",
                withheld,
            )
            % {"count": withheld}
        )
    return lines


def _round_email(round_: FeedbackRound, role: str, language: str) -> outbox.Email:
    pilot = round_.pilot
    subject = _("%(pilot)s: what the feedback round of %(date)s said") % {
        "pilot": pilot.title,
        "date": formats.date_format(round_.period_start, "SHORT_DATE_FORMAT"),
    }
    lines = [
        _("You were asked for feedback on %(pilot)s. Here is what the round said:")
        % {"pilot": pilot.title},
        "",
        *digest_lines(round_, language=language),
        "",
        _("When a decision is taken on this pilot, you will be told, with its reasons."),
        _absolute(pilot.get_absolute_url()),
        "",
        "-- ",
        _footer(role),
    ]
    return outbox.Email(subject=subject, body="\n".join(lines))


def _message_id(delivery: Delivery) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<notification-{delivery.pk}@{host}>"


def build(delivery: Delivery) -> outbox.Email | None:
    """The email of one notification, in its recipient's language (None: not needed now)."""
    user = delivery.recipient_user
    payload = delivery.payload
    topic, role = payload.get("topic", ""), payload.get("as", "")
    if user is None or not user.is_active:
        return None
    if topic and not preferences.wants(user, topic):
        return None
    language = preferences.language_of(user)
    with translation.override(language):
        event, pk = payload.get("event"), payload.get("id")
        if event == "stage":
            change = StageChange.objects.select_related("pilot", "actor").filter(pk=pk).first()
            email = _stage_email(change, role) if change else None
        elif event == "review":
            review = Review.objects.select_related("pilot", "reviewer").filter(pk=pk).first()
            email = _review_email(review, role) if review else None
        elif event == "declined":
            found = (
                DecisionRequest.objects.select_related("pilot", "declined_by").filter(pk=pk).first()
            )
            email = _declined_email(found, role) if found else None
        elif event == "round":
            round_ = FeedbackRound.objects.select_related("pilot").filter(pk=pk).first()
            email = _round_email(round_, role, language) if round_ else None
        else:
            logger.error("Notification %s: unknown event %r", delivery.pk, event)
            return None
    if email is None:
        return None
    headers = {"Content-Language": language, "Message-ID": _message_id(delivery)}
    return outbox.Email(subject=email.subject, body=email.body, headers=headers)


NOTIFICATION_KIND = outbox.Kind(
    name=NOTIFICATION, semantics=outbox.AT_LEAST_ONCE, build=build, max_attempts=5
)
