"""Build closed rounds with answers for the evidence tests (bulk inserts, few queries)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from feedback.models import Answer, FeedbackRound, Question, Questionnaire, Response
from feedback.results import compute_results, store_summaries
from tests.factories import QuestionFactory, QuestionnaireFactory

PULSE = [
    ("minutes_saved", Question.Kind.NUMBER, 0, 2400),
    ("quality", Question.Kind.SCALE, 1, 5),
    ("trust", Question.Kind.SCALE, 1, 5),
    ("recommend", Question.Kind.SCALE, 0, 10),
    ("incident", Question.Kind.YES_NO, None, None),
    ("incident_kind", Question.Kind.CHOICE, None, None),
    ("incident_description", Question.Kind.TEXT, None, None),
    ("comment", Question.Kind.TEXT, None, None),
]
INCIDENT_KINDS = [
    ["confidential_data_exposed", "Confidential data exposed"],
    ["wrong_output_acted_on", "Wrong output acted on"],
    ["other", "Other"],
]


def questionnaire() -> Questionnaire:
    """A questionnaire with the default question keys (independent of data migrations)."""
    existing = Questionnaire.objects.filter(slug="evidence-pulse").first()
    if existing:
        return existing
    q = QuestionnaireFactory(slug="evidence-pulse", name="Evidence pulse", is_current=True)
    for position, (key, kind, low, high) in enumerate(PULSE, start=1):
        QuestionFactory(
            questionnaire=q,
            key=key,
            kind=kind,
            position=position,
            text=f"{key}?",
            min_value=low,
            max_value=high,
            choices=INCIDENT_KINDS if key == "incident_kind" else [],
            required=key not in ("incident_kind", "incident_description", "comment"),
        )
    return q


def add_round(
    pilot,
    answers: list[dict],
    *,
    invited: int | None = None,
    weeks_ago: int = 0,
    closed: bool = True,
    compute: bool = True,
    using: Questionnaire | None = None,
) -> FeedbackRound:
    """A round of `pilot` whose responses answer as given (one dict per response).

    `using`: the questionnaire asked (default: the evidence pulse); the pilot's own questions
    are asked too.
    """
    q = using or questionnaire()
    questions = {x.key: x for x in q.questions.all()}
    questions.update({x.key: x for x in pilot.extra_questions.all()})
    now = timezone.now() - datetime.timedelta(weeks=weeks_ago)
    r = FeedbackRound.objects.create(
        pilot=pilot,
        questionnaire=q,
        period_start=now.date(),
        opens_at=now,
        closes_at=now + datetime.timedelta(days=3),
        invited_count=invited if invited is not None else max(len(answers), 1),
        response_count=len(answers),
        anonymous=pilot.anonymous_feedback,
    )
    responses = Response.objects.bulk_create([Response(round=r) for _ in answers])
    rows = []
    for response, given in zip(responses, answers, strict=True):
        for key, value in given.items():
            question = questions[key]
            answer = Answer(response=response, question=question)
            if question.kind in (Question.Kind.NUMBER, Question.Kind.SCALE):
                answer.number = Decimal(str(value))
            elif question.kind == Question.Kind.YES_NO:
                answer.boolean = bool(value)
            else:
                answer.text = value
            rows.append(answer)
    Answer.objects.bulk_create(rows)
    if closed:
        r.status = FeedbackRound.Status.CLOSED
        r.closed_at = now + datetime.timedelta(days=3)
        r.results = compute_results(r) if compute else None
        r.save()
        # As close_round does.
        store_summaries([r])
    return r


def scores(key: str, values) -> list[dict]:
    return [{key: v} for v in values]
