"""Answering a feedback round: by emailed token, or from a logged-in participant's inbox.

Anonymity (pilots with anonymous feedback, the default): nothing stored links a person to a
response. The prompt records only *that* it was answered (a boolean, no time); the response
has a random id, no time, no respondent, and an ``edit_key_hash`` that is a *different* hash of
the token than the prompt's ``token_hash``, so neither the database nor the logs can join them.
Only whoever holds the token can find the response again (to edit it until the round closes).

Answering from the inbox (no token at hand): the first submission rotates the prompt's token
under the round lock, stores ``edit_key_hash`` of the fresh token on the response and hands the
fresh token back once (``response.edit_token``); the view sends the participant to the link of
that token and nothing on the server keeps it. The emailed link stops working, because
the prompt now has another token. An anonymous response answered from the inbox can therefore
be edited only through that new link. The server cannot find it from the person; the browser
that answered keeps the link in a signed, http-only cookie so its inbox can offer it
(feedback.views), and any other browser's inbox says to use the link.

Rounds are closed by ``feedback.scheduling.close_round``, which locks the round row and counts
responses. Every submission locks the same row first and re-checks that the round is open, so a
response is either counted by the close or refused with "round closed", never lost.

The database itself must not join them either: see _blur_row_versions for PostgreSQL's
row-version stamps. Nothing here logs: a log line with a time, a token or a user next to a
response would be a link between a person and an anonymous answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import followups
from core.compiled import CompiledQuery
from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from pilots.models import ACTIVE_STAGES, ENDED_STAGES, Pilot, Stage

from . import access, tokens
from .anonymity import EXPOSURE_VALUE
from .models import Answer, FeedbackRound, Prompt, Question, Response

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import AbstractBaseUser

# Follow-up work an exposure report asks for (breaching the guardrails that forbid it).
EXPOSURE_REPORTED = "exposure_reported"
TEXT_MAX_LENGTH = 5000
YES, NO = "yes", "no"


class UnknownLink(DomainError):
    code = "unknown_link"
    status = 404


class AnsweringClosed(DomainError):
    """The round no longer takes answers (closed, or its pilot paused or stopped)."""

    code = "round_closed"
    status = 409


class CharterNotAcknowledged(PermissionRefused):
    """The participant must first acknowledge the pilot's usage charter (governance.charter)."""

    code = "charter_not_acknowledged"


def charter_refusal(user: AbstractBaseUser, prompt: Prompt) -> CharterNotAcknowledged | None:
    """Return why a participant may not answer a prompt from the inbox yet, or None.

    Asked of feedback.access (the rule lives in governance.charter); a prompt read by
    `own_prompt` carries the answer already (no query). The message is about them and the
    pilot only.
    """
    owed = getattr(prompt, "charter_owed", None)
    if owed is None:
        owed = access.owes_charter(user, prompt)
    if not owed:
        return None
    return CharterNotAcknowledged(
        _(
            "Acknowledge the usage charter of the pilot “%(pilot)s” first: then you can answer "
            "this round, until it closes."
        )
        % {"pilot": prompt.round.pilot.title}
    )


class AlreadyAnswered(DomainError):
    code = "already_answered"
    status = 409


class AnswersInvalid(ValidationFailed):
    """One or more answers break a rule; ``errors`` holds one ValidationFailed per field."""

    def __init__(self, errors: list[ValidationFailed]) -> None:
        first = errors[0]
        super().__init__(first.message, code=first.code, field=first.field)
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# Finding prompts and questions


# What answering reads of a prompt, its round and its pilot (the answer page and its templates,
# submit_response, which locks and reads the round again): not the pilot's texts, its risk
# answers or the round's stored results, which answering never shows.
PROMPT_FIELDS = (
    "id",
    "round_id",
    "participant_id",
    "token_hash",
    "answered",
    "round__id",
    "round__pilot_id",
    "round__questionnaire_id",
    "round__closes_at",
    "round__closed_at",
    "round__status",
    "round__anonymous",
    "round__pilot__id",
    "round__pilot__title",
    "round__pilot__stage",
)


# The answer page's two reads, compiled once per process (core.compiled): the stand-ins are
# values no caller passes (a token hash is 64 hex digits; ids are positive).
_PROMPT_BY_HASH = CompiledQuery(
    lambda token_hash: (
        Prompt.objects.select_related("round__pilot")
        .only(*PROMPT_FIELDS)
        .filter(token_hash=token_hash)
        .order_by("pk")[:1]
    ),
    "(compiled query stand-in)",
)
_QUESTIONS_OF_ROUND = CompiledQuery(
    lambda questionnaire_id, pilot_id: Question.objects.filter(
        Q(questionnaire_id=questionnaire_id) | Q(pilot_id=pilot_id)
    ).order_by(F("pilot_id").asc(nulls_first=True), "position", "pk"),
    -7_301,
    -7_302,
)


def prompt_for_token(token: str) -> Prompt:
    """Return the prompt an emailed token opens (PROMPT_FIELDS read), or raise UnknownLink."""
    found = _PROMPT_BY_HASH(tokens.hash_token(token or ""))
    prompt = found[0] if found else None
    if prompt is None:
        raise UnknownLink(
            _(
                "This link is unknown or was replaced by a newer one. Use the latest link you "
                "received, or answer from your feedback inbox."
            )
        )
    return prompt


def own_prompt(prompt_id: int, *, user: AbstractBaseUser) -> Prompt:
    """Return a logged-in participant's own prompt, or raise PermissionRefused.

    It carries `charter_owed` (feedback.access.charter_owed), read in the same query.
    """
    prompt = (
        access.charter_owed(access.own_prompts(Prompt.objects.all(), user), user)
        .select_related("round__pilot", "round__questionnaire")
        .filter(pk=prompt_id)
        .first()
    )
    if prompt is None:
        raise PermissionRefused(
            _("This is not one of your feedback prompts."), code="not_your_prompt"
        )
    return prompt


def questions_for_round(feedback_round: FeedbackRound) -> list[Question]:
    """Return the round's questionnaire questions, then the pilot's own extra questions."""
    return _QUESTIONS_OF_ROUND(feedback_round.questionnaire_id, feedback_round.pilot_id)


def refusal(
    feedback_round: FeedbackRound, pilot: Pilot, now: datetime.datetime | None = None
) -> AnsweringClosed | None:
    """Return why a round does not take answers now, or None if it does."""
    now = now or timezone.now()
    if pilot.stage == Stage.PAUSED:
        return AnsweringClosed(
            _("The pilot “%(pilot)s” is paused: it does not collect feedback for now.")
            % {"pilot": pilot.title},
            code="pilot_paused",
        )
    if pilot.stage in ENDED_STAGES:
        return AnsweringClosed(
            _("The pilot “%(pilot)s” is stopped: it no longer collects feedback.")
            % {"pilot": pilot.title},
            code="pilot_stopped",
        )
    if (
        feedback_round.status != FeedbackRound.Status.OPEN
        or now >= feedback_round.closes_at
        or pilot.stage not in ACTIVE_STAGES
    ):
        return AnsweringClosed(
            _("This feedback round closed on %(closed)s; it no longer takes answers.")
            % {
                "closed": formats.date_format(
                    timezone.localtime(feedback_round.closed_at or feedback_round.closes_at),
                    "DATETIME_FORMAT",
                )
            },
            code="round_closed",
        )
    return None


def existing_response(prompt: Prompt, *, token: str | None = None) -> Response | None:
    """Return the response this prompt's holder may edit, if any.

    For an anonymous round it is found only through the token (its edit key); without the
    token nothing leads from the prompt to the response. A response is created only by the
    claim that marks its prompt answered, in the same transaction (submit_response; the demo
    data marks its prompts too), so an unanswered prompt has none to look for: a first visit
    costs no query here.
    """
    if not prompt.answered:
        return None
    feedback_round = prompt.round
    if feedback_round.anonymous:
        if token is None:
            return None
        return Response.objects.filter(
            round=feedback_round, edit_key_hash=tokens.edit_key_hash(token)
        ).first()
    return Response.objects.filter(
        round=feedback_round, respondent_id=prompt.participant_id
    ).first()


def answers_of(response: Response | None) -> dict[str, Any]:
    """Return a response's answers as form values, keyed by question key."""
    if response is None:
        return {}
    values: dict[str, Any] = {}
    for answer in response.answers.select_related("question"):
        kind = answer.question.kind
        if kind == Question.Kind.YES_NO:
            values[answer.question.key] = YES if answer.boolean else NO
        elif kind == Question.Kind.SCALE:
            values[answer.question.key] = str(int(answer.number))
        elif kind == Question.Kind.NUMBER:
            values[answer.question.key] = format(answer.number.normalize(), "f")
        else:
            values[answer.question.key] = answer.text
    return values


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class CleanAnswer:
    question: Question
    number: Decimal | None = None
    boolean: bool | None = None
    text: str = ""

    @property
    def value(self) -> Any:
        if self.question.kind == Question.Kind.YES_NO:
            return YES if self.boolean else NO
        if self.question.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
            return self.number
        return self.text


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _clean_one(question: Question, raw: Any) -> CleanAnswer:
    key = question.key
    kind = question.kind
    if kind == Question.Kind.YES_NO:
        if raw is True or (isinstance(raw, str) and raw.strip().lower() == YES):
            return CleanAnswer(question, boolean=True)
        if raw is False or (isinstance(raw, str) and raw.strip().lower() == NO):
            return CleanAnswer(question, boolean=False)
        raise ValidationFailed(_("Answer yes or no."), code="invalid_choice", field=key)
    if kind == Question.Kind.CHOICE:
        allowed = [str(c[0]) for c in question.choices or []]
        value = str(raw).strip()
        if value not in allowed:
            raise ValidationFailed(
                _("Choose one of the options."), code="invalid_choice", field=key
            )
        return CleanAnswer(question, text=value)
    if kind == Question.Kind.TEXT:
        value = str(raw).strip()
        if len(value) > TEXT_MAX_LENGTH:
            raise ValidationFailed(
                _("Keep it under %(max)d characters (you wrote %(n)d).")
                % {"max": TEXT_MAX_LENGTH, "n": len(value)},
                code="too_long",
                field=key,
            )
        return CleanAnswer(question, text=value)
    # Scale and number.
    try:
        number = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationFailed(_("Enter a number."), code="not_a_number", field=key)
    lo, hi = question.min_value, question.max_value
    if kind == Question.Kind.SCALE and number != number.to_integral_value():
        raise ValidationFailed(
            _("Choose a whole number from %(min)s to %(max)s.")
            % {"min": _fmt(lo), "max": _fmt(hi)},
            code="not_whole",
            field=key,
        )
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(_("Use at most two decimals."), code="too_precise", field=key)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ValidationFailed(
            _("Enter a value from %(min)s to %(max)s.") % {"min": _fmt(lo), "max": _fmt(hi)},
            code="out_of_range",
            field=key,
        )
    _check_step(question, number)
    return CleanAnswer(question, number=number)


def _check_step(question: Question, number: Decimal) -> None:
    """Refuse a number that is not a whole number of steps from the question's minimum.

    Exact in Decimal: 0.07 is 7 steps of 0.01, where binary floats would disagree.
    """
    step, origin = question.step, question.min_value or Decimal(0)
    if not step or step <= 0:
        return
    steps = (number - origin) / step
    if steps == steps.to_integral_value():
        return
    below = origin + step * (steps.to_integral_value(rounding=ROUND_FLOOR))
    raise ValidationFailed(
        _("Answers go in steps of %(step)s from %(min)s: the nearest are %(below)s and %(above)s.")
        % {
            "step": _fmt(step),
            "min": _fmt(origin),
            "below": _fmt(below),
            "above": _fmt(below + step),
        },
        code="off_step",
        field=question.key,
    )


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def is_shown(question: Question, raw_answers: dict[str, Any]) -> bool:
    """Tell whether a conditional question is asked, given the answer it depends on."""
    if not question.shown_if_key:
        return True
    given = raw_answers.get(question.shown_if_key)
    if given is True:
        given = YES
    elif given is False:
        given = NO
    return str(given).strip().lower() == question.shown_if_value.strip().lower()


def validate_answers(questions: list[Question], answers: dict[str, Any]) -> list[CleanAnswer]:
    """Check every answer by its question's kind; raise AnswersInvalid naming each field.

    A conditional question whose condition is not met is skipped, and any answer given to it
    dropped, so a "no" to the incident question never stores an incident kind.
    """
    errors: list[ValidationFailed] = []
    cleaned: list[CleanAnswer] = []
    known = {q.key for q in questions}
    for key in answers:
        if key not in known:
            errors.append(
                ValidationFailed(
                    _("There is no question “%(key)s” in this round.") % {"key": key},
                    code="unknown_question",
                    field=key,
                )
            )
    for question in questions:
        if not is_shown(question, answers):
            continue
        raw = answers.get(question.key)
        if _is_empty(raw):
            if question.required:
                errors.append(
                    ValidationFailed(
                        _("This question needs an answer."), code="required", field=question.key
                    )
                )
            continue
        try:
            cleaned.append(_clean_one(question, raw))
        except ValidationFailed as e:
            errors.append(e)
    if errors:
        raise AnswersInvalid(errors)
    return cleaned


# ---------------------------------------------------------------------------------------------
# Submitting


def submit_response(
    *,
    token: str | None = None,
    prompt_id: int | None = None,
    user: AbstractBaseUser | None = None,
    answers: dict[str, Any],
    prompt: Prompt | None = None,
    questions: list[Question] | None = None,
) -> Response:
    """Record (or replace) the answers of one prompt, by its token or by its participant.

    The first submission marks the prompt answered with a conditional UPDATE (that also checks
    the token) and creates the response in the same transaction; later ones replace the answers
    of that same response. For an anonymous pilot answered from the inbox the prompt gets a new
    token, returned once as ``response.edit_token`` (stored nowhere). A caller that already
    read the prompt (by this token, or the user's own) and the round's questions passes them,
    to save their queries. Raises UnknownLink, PermissionRefused (CharterNotAcknowledged
    from the inbox while the pilot's usage charter is owed), AnsweringClosed (codes
    round_closed, pilot_paused, pilot_stopped), AlreadyAnswered or AnswersInvalid.
    """
    if (token is None) == (prompt_id is None):
        raise ValueError("Pass exactly one of token or prompt_id.")
    if prompt_id is not None and (user is None or not user.is_authenticated):
        raise PermissionRefused(_("Log in to answer from your inbox."), code="login_required")
    if prompt is None or (prompt_id is not None and prompt.pk != prompt_id):
        prompt = prompt_for_token(token) if token is not None else own_prompt(prompt_id, user=user)
    elif prompt_id is not None and prompt.participant_id != user.pk:
        raise PermissionRefused(
            _("This is not one of your feedback prompts."), code="not_your_prompt"
        )
    with transaction.atomic():
        # The same lock close_round takes: a response commits before the close counts it, or
        # sees the round closed. It also serialises the submissions of one token. Only the
        # round's row is locked (of=self), the pilot is read with it.
        feedback_round = (
            FeedbackRound.objects.select_for_update(of=("self",))
            .select_related("pilot")
            .get(pk=prompt.round_id)
        )
        reason = refusal(feedback_round, feedback_round.pilot)
        if reason is None and prompt_id is not None:
            # From the inbox (web or API): the pilot's charter first. An emailed link went out
            # only once the invitation's own charter gate passed (feedback.invitations).
            prompt.round = feedback_round
            reason = charter_refusal(user, prompt)
        if reason is not None:
            raise reason
        if questions is None:
            questions = questions_for_round(feedback_round)
        cleaned = validate_answers(questions, answers)
        prompt.round = feedback_round
        response, edit_token = _claim_or_find(prompt, feedback_round, token=token)
        if response is None:
            response = Response.objects.create(
                round=feedback_round,
                # The round's anonymity, fixed when it opened, not the pilot's current setting.
                respondent_id=None if feedback_round.anonymous else prompt.participant_id,
                edit_key_hash=(
                    tokens.edit_key_hash(edit_token or token) if feedback_round.anonymous else None
                ),
            )
            # Only PostgreSQL stamps row versions; SQLite rewrites rows in place, so there the
            # round-wide rewrite would cost a write per prompt and hide nothing.
            if feedback_round.anonymous and connection.vendor == "postgresql":
                _blur_row_versions(feedback_round.pk)
        else:
            response.answers.all().delete()
        Answer.objects.bulk_create(
            Answer(
                response=response,
                question=c.question,
                number=c.number,
                boolean=c.boolean,
                text=c.text,
            )
            for c in cleaned
        )
        if any(
            c.question.kind == Question.Kind.CHOICE and c.text == EXPOSURE_VALUE for c in cleaned
        ):
            # Safety first: breaching every guardrail that forbids it follows this commit, and
            # is done even if the broker loses the message (core.followups). Several reports
            # before it runs make one piece of work: it counts the round's reports itself.
            followups.request(
                EXPOSURE_REPORTED,
                key=f"round:{feedback_round.pk}",
                payload={"round_id": feedback_round.pk},
            )
    response.edit_token = edit_token  # type: ignore[attr-defined]
    return response


def _claim_or_find(
    prompt: Prompt, feedback_round: FeedbackRound, *, token: str | None
) -> tuple[Response | None, str | None]:
    """Claim the unanswered prompt, or return the response its holder replaces.

    Returns (None, a fresh token or None) when this submission answered the prompt first:
    one conditional UPDATE, which also re-checks the token, since a concurrent submission may
    have answered the prompt or rotated its token. Otherwise (the response, None).
    """
    rotate = feedback_round.anonymous and token is None
    new_token = tokens.make_token()[0] if rotate else None
    claim = Prompt.objects.filter(pk=prompt.pk, answered=False)
    if token is not None:
        claim = claim.filter(token_hash=tokens.hash_token(token))
    changes: dict[str, Any] = {"answered": True}
    if new_token:
        changes["token_hash"] = tokens.hash_token(new_token)
    if claim.update(**changes) == 1:
        return None, new_token
    # Not claimed: already answered, or (by token) the token was replaced.
    current = Prompt.objects.filter(pk=prompt.pk).values_list("token_hash", flat=True).first()
    if token is not None and current != tokens.hash_token(token):
        raise UnknownLink(_("This link was replaced by a newer one."))
    # Answered since it was read (by a submission at the same moment, which holds or held the
    # round's lock): its response is the one this submission replaces.
    prompt.answered = True
    response = None if rotate else existing_response(prompt, token=token)
    if response is None:
        if rotate:
            raise AlreadyAnswered(
                _(
                    "You already answered this round. Your answer is anonymous, so we cannot "
                    "find it from your account: change it through the link you were given "
                    "when you answered (or the emailed link, if you answered through it)."
                )
            )
        raise AlreadyAnswered(
            _(
                "You already answered this round. Your answer is anonymous, so it can only be "
                "changed through the link you used (or were given) when you answered."
            )
        )
    return response, None


def scatter_rows(feedback_round: FeedbackRound) -> None:
    """Rewrite a closed anonymous round's prompts, responses and answers in random order.

    Rows are stored in the order they were written: SQLite numbers each response's row
    (rowid) in answer order, PostgreSQL places each new row version at the end of its table
    (ctid), and a prompt marked answered moves with it. A copy of the database (pg_dump, a
    copy of the SQLite file) could then pair the n-th answered prompt with the n-th response.
    Once the round is closed nobody edits them any more: every row is deleted and written
    again in a random order, all in the closing transaction (one row version stamp, xmin, for
    all of them), and the edit keys, useless from now on, are dropped. Deleted row contents
    are overwritten on SQLite (secure_delete, settings) rather than left in free pages.

    One statement per table on PostgreSQL (a DELETE … RETURNING feeding an INSERT in random
    order: nothing travels to Python); on SQLite the rows are read, shuffled in Python and
    written again with plain statements (no temporary table: its file would hold the rows).
    """
    rows_of = [
        (Prompt, "round_id = %s", {}),
        (Response, "round_id = %s", {"edit_key_hash": "NULL"}),
        (
            Answer,
            f"response_id IN (SELECT id FROM {Response._meta.db_table} WHERE round_id = %s)",  # noqa: S608
            {},
        ),
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, where, replaced in rows_of:
            table = quote(model._meta.db_table)
            names = [f.column for f in model._meta.concrete_fields]
            columns = ", ".join(quote(name) for name in names)
            if connection.vendor == "postgresql":
                picked = ", ".join(replaced.get(name, quote(name)) for name in names)
                # gen_random_uuid draws from the strong random source (pg_strong_random).
                cursor.execute(
                    f"WITH gone AS (DELETE FROM {table} WHERE {where} RETURNING {columns})"  # noqa: S608
                    f" INSERT INTO {table} ({columns}) SELECT {picked} FROM gone"
                    " ORDER BY gen_random_uuid()",  # nosec B608 - names from the models only
                    [feedback_round.pk],
                )
                continue
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {where}",  # noqa: S608 # nosec B608
                [feedback_round.pk],
            )
            rows = [
                tuple(
                    None if name in replaced else value
                    for name, value in zip(names, row, strict=True)
                )
                for row in cursor.fetchall()
            ]
            secrets.SystemRandom().shuffle(rows)
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [feedback_round.pk])  # noqa: S608 # nosec B608
            if rows:
                placeholders = ", ".join(["%s"] * len(names))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 # nosec B608
                    rows,
                )


def _blur_row_versions(round_id: int) -> None:
    """Rewrite every prompt of the round in this transaction.

    PostgreSQL stamps each row version with the id of the transaction that wrote it (xmin).
    The prompt marked answered and the response created here would otherwise carry the same
    stamp, and ``xmin`` would join them. Rewritten together, all the round's prompts carry the
    stamp of the latest answer, which matches every prompt or none.
    """
    Prompt.objects.filter(round_id=round_id).update(answered=F("answered"))
