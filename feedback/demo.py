"""Demo feedback for `seed_demo`: past closed rounds with responses and one open round.

Idempotent: a pilot that already has a round is left alone. Every active pilot (sandbox, pilot,
approved standard) gets a few demo colleagues as participants, so its rounds reach the
anonymity threshold, then closed rounds for its last periods (answers drawn from a seeded
random generator, so every run builds the same data) and an open round for the current period.
The demo user `participant` gets an unanswered prompt in that open round; its link is printed
once, because the raw token exists only at that moment.
"""

from __future__ import annotations

import datetime
import random
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from pilots.models import Membership, Participation, Pilot

from . import scheduling
from .models import Answer, FeedbackRound, Prompt, Question, Questionnaire, Response
from .tokens import make_token

PAST_ROUNDS = 4
DEMO_COLLEAGUES = 8
RESPONSE_RATE = 0.8
COMMENTS = [
    "Saves me the first draft every time.",
    "Good for short answers, weak on long policy questions.",
    "I still check every figure it gives.",
    "Faster than searching the wiki.",
    "Sometimes invents a product name.",
    "",
    "",
]


def seed_feedback(*, now: datetime.datetime | None = None) -> None:
    """Create demo rounds, prompts and responses for the active pilots (idempotent)."""
    now = now or timezone.now()
    questionnaire = Questionnaire.objects.filter(is_default=True, is_current=True).first()
    if questionnaire is None:
        return
    questions = list(questionnaire.questions.all())
    open_link = None
    for pilot in Pilot.objects.active().select_related("team").order_by("pk"):
        if pilot.rounds.exists():
            continue
        with transaction.atomic():
            _add_colleagues(pilot)
            rng = random.Random(pilot.pk)  # seeded: every run builds the same demo
            period = scheduling.current_period(pilot, now=now)
            starts = []
            start = period.start
            for _ in range(PAST_ROUNDS):
                start = scheduling.period_start_on_or_before(
                    scheduling.effective_cadence(pilot),
                    pilot.cadence_weekday,
                    start - datetime.timedelta(days=1),
                )
                starts.append(start)
            for start in reversed(starts):
                _closed_round(pilot, questionnaire, questions, start, rng, now=now)
            link = _open_round(pilot, questionnaire, period, now=now)
            open_link = open_link or link
    if open_link:
        sys.stdout.write(
            "Demo feedback: the user 'participant' has an open prompt; answer it at\n"
            f"  {open_link}\n(this link is shown once; the inbox lists the prompt too)\n"
        )


def _add_colleagues(pilot: Pilot) -> None:
    user_model = get_user_model()
    for i in range(1, DEMO_COLLEAGUES + 1):
        username = f"{pilot.team.slug}-agent-{i}"
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@example.com",
                "first_name": "Agent",
                "last_name": str(i),
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(team=pilot.team, user=user)
        Participation.objects.get_or_create(pilot=pilot, user=user)


def _window(pilot: Pilot, opens_at: datetime.datetime) -> datetime.datetime:
    return opens_at + datetime.timedelta(days=pilot.response_window_days)


def _closed_round(
    pilot: Pilot,
    questionnaire: Questionnaire,
    questions: list[Question],
    start: datetime.date,
    rng: random.Random,
    *,
    now: datetime.datetime,
) -> None:
    opens_at = _opening(pilot, start)
    closes_at = min(_window(pilot, opens_at), now - datetime.timedelta(hours=1))
    round_ = FeedbackRound.objects.create(
        pilot=pilot,
        questionnaire=questionnaire,
        period_start=start,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymous=pilot.anonymous_feedback,
    )
    scheduling.create_prompts([round_.pk], now=opens_at)
    prompts = list(round_.prompts.select_related("participant").order_by("pk"))
    Prompt.objects.filter(round=round_).update(
        send_status=Prompt.SendStatus.SENT, sent_at=opens_at, send_attempts=1
    )
    answering = [p for p in prompts if rng.random() < RESPONSE_RATE]
    for prompt in answering:
        response = Response.objects.create(
            round=round_, respondent=None if round_.anonymous else prompt.participant
        )
        Answer.objects.bulk_create(_answers(response, questions, rng))
    Prompt.objects.filter(pk__in=[p.pk for p in answering]).update(answered=True)
    scheduling.close_round(round_.pk, now=closes_at)


def _opening(pilot: Pilot, start: datetime.date) -> datetime.datetime:
    return scheduling.opening_instant(start, ZoneInfo(pilot.team.timezone))


def _answers(response: Response, questions: list[Question], rng: random.Random) -> list[Answer]:
    incident = rng.random() < 0.08
    answers = []
    for q in questions:
        value: dict = {}
        if q.key == "minutes_saved":
            value["number"] = Decimal(max(0, min(2400, round(rng.gauss(70, 40)))))
        elif q.key in ("quality", "trust"):
            value["number"] = Decimal(rng.choices([2, 3, 4, 5], weights=[1, 3, 5, 2])[0])
        elif q.key == "recommend":
            value["number"] = Decimal(rng.choices(range(4, 11), weights=[1, 1, 2, 3, 4, 3, 2])[0])
        elif q.key == "incident":
            value["boolean"] = incident
        elif q.key == "incident_kind":
            if not incident:
                continue
            value["text"] = rng.choice(["wrong_output_acted_on", "other"])
        elif q.key == "incident_description":
            if not incident:
                continue
            value["text"] = "A suggested reply quoted an outdated refund rule."
        elif q.key == "comment":
            comment = rng.choice(COMMENTS)
            if not comment:
                continue
            value["text"] = comment
        elif q.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
            value["number"] = q.max_value
        else:
            continue
        answers.append(Answer(response=response, question=q, **value))
    return answers


def _open_round(
    pilot: Pilot, questionnaire: Questionnaire, period: scheduling.Period, *, now: datetime.datetime
) -> str | None:
    """Open the current period's round; mint the demo participant's link; return it."""
    opens_at = min(period.opens_at, now)
    closes_at = max(
        min(_window(pilot, opens_at), period.next_opens_at), now + datetime.timedelta(days=1)
    )
    round_ = FeedbackRound.objects.create(
        pilot=pilot,
        questionnaire=questionnaire,
        period_start=period.start,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymous=pilot.anonymous_feedback,
    )
    scheduling.create_prompts([round_.pk], now=opens_at)
    token, token_hash = make_token()
    # The demo participant's invitation counts as sent: the link below is its email.
    minted = Prompt.objects.filter(
        round=round_, participant__username="participant", send_status=Prompt.SendStatus.QUEUED
    ).update(
        token_hash=token_hash, send_status=Prompt.SendStatus.SENT, sent_at=now, send_attempts=1
    )
    from . import tasks

    tasks.send_prompts.delay_on_commit(round_.pk)  # emails the others (console by default)
    return scheduling.answer_url(token) if minted else None
