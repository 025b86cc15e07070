"""A lead's own questions for their pilot, asked after the questionnaire in every round.

At most MAX_EXTRA_QUESTIONS per pilot; a question's key is unique among the pilot's questions
and the questionnaire's. Once a question has answers it is frozen (results stay comparable
across rounds): it can be neither changed nor removed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from pilots import access, measures
from pilots.models import ENDED_STAGES, Pilot
from pilots.question_keys import AskedQuestion

from .models import Question, Questionnaire

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_EXTRA_QUESTIONS = 5
# What a change record keeps of a pilot's own question.
QUESTION_FIELDS = ("key", "text", "kind", "required", "min_value", "max_value", "choices")
MAX_SCALE_POINTS = 11
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def can_manage(pilot: Pilot, user: AbstractBaseUser) -> bool:
    """Tell whether a user may add questions to a pilot (pilots.access decides)."""
    return access.may_manage_questions(user, pilot)


def pilots_managed_by(user: AbstractBaseUser) -> QuerySet[Pilot]:
    """Pilots whose questions a user may change (the same rule as can_manage), still running."""
    return (
        access.managed(Pilot.objects.all(), user).exclude(stage__in=ENDED_STAGES).order_by("title")
    )


def _check_manager(pilot: Pilot, user: AbstractBaseUser) -> None:
    if not can_manage(pilot, user):
        raise PermissionRefused(
            _("Only the pilot's lead or a lead of its team can change its questions.")
        )


def reserved_keys(pilot: Pilot) -> set[str]:
    """Keys taken by the questionnaires the pilot's rounds use, or the default one."""
    questionnaires = Questionnaire.objects.filter(
        Q(rounds__pilot=pilot) | Q(is_default=True, is_current=True)
    ).values("pk")
    return set(
        Question.objects.filter(questionnaire__in=questionnaires).values_list("key", flat=True)
    )


def asked_questions(pilot: Pilot | None, language: str | None = None) -> list[AskedQuestion]:
    """List the questions a pilot's next rounds ask: the default questionnaire's, then its own.

    New rounds use the current version of the default questionnaire (scheduling), followed
    by the pilot's own questions; a pilot not saved yet has none of its own. One query. This
    is the provider pilots.question_keys asks (registered in FeedbackConfig.ready).
    """
    owners = Q(questionnaire__is_default=True, questionnaire__is_current=True)
    if pilot is not None and pilot.pk is not None:
        owners |= Q(pilot_id=pilot.pk)
    questions = Question.objects.filter(owners).order_by(
        F("pilot_id").asc(nulls_first=True), "position", "pk"
    )
    asked: dict[str, AskedQuestion] = {}
    for question in questions:
        # A pilot's own key is unique against the questionnaire's when added; should a later
        # questionnaire version take it, the questionnaire's question is the one answered first.
        if question.key not in asked:
            asked[question.key] = AskedQuestion(
                key=question.key,
                kind=question.kind,
                kind_label=str(Question.Kind(question.kind).label),
                text=question.localized(language).text,
            )
    return list(asked.values())


def add_question(
    pilot_id: int,
    *,
    user: AbstractBaseUser,
    key: str,
    text: str,
    kind: str,
    help_text: str = "",
    required: bool = False,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    step: Decimal | None = None,
    min_label: str = "",
    max_label: str = "",
    unit: str = "",
    choices: list[list[str]] | None = None,
    language: str | None = None,
    translations: dict[str, dict[str, str]] | None = None,
) -> Question:
    """Add a question of the lead's own to a pilot; it is asked from the next form shown.

    `language` is the one its words are written in (default: the active language); readers of
    another language see them as written unless `translations` gives that language's text
    and help text ({"fr": {"text": ..., "help_text": ...}}). `step` (number questions; default
    1): answers are multiples of it from `min_value`, e.g. 0.01 for a rate.
    """
    key = (key or "").strip()
    text = (text or "").strip()
    language, translations, choices, step = _check_question(
        key=key,
        text=text,
        kind=kind,
        min_value=min_value,
        max_value=max_value,
        step=step,
        choices=choices,
        language=language,
        translations=translations,
    )
    if kind not in (Question.Kind.SCALE, Question.Kind.NUMBER):
        min_value = max_value = None
        min_label = max_label = unit = ""
    with transaction.atomic():
        # The pilot row lock makes "at most five" hold against two leads adding at once.
        pilot = Pilot.objects.select_for_update().get(pk=pilot_id)
        _check_manager(pilot, user)
        if pilot.stage in ENDED_STAGES:
            raise ValidationFailed(
                _("The pilot has ended: its questions can no longer change."),
                code="pilot_ended",
                field="key",
            )
        existing = list(pilot.extra_questions.all())
        if len(existing) >= MAX_EXTRA_QUESTIONS:
            raise ValidationFailed(
                _("A pilot can have at most %(max)d questions of its own.")
                % {"max": MAX_EXTRA_QUESTIONS},
                code="too_many_questions",
                field="key",
            )
        if key in {q.key for q in existing} or key in reserved_keys(pilot):
            raise ValidationFailed(
                _("The key “%(key)s” is already used by another question.") % {"key": key},
                code="duplicate_key",
                field="key",
            )
        try:
            with transaction.atomic():
                question = Question.objects.create(
                    pilot=pilot,
                    key=key,
                    text=text,
                    help_text=(help_text or "").strip(),
                    kind=kind,
                    required=required,
                    position=max((q.position for q in existing), default=0) + 1,
                    min_value=min_value,
                    max_value=max_value,
                    step=step,
                    min_label=min_label,
                    max_label=max_label,
                    unit=unit,
                    choices=choices,
                    language=language,
                    translations=translations,
                )
        except IntegrityError as e:
            raise ValidationFailed(
                _("The key “%(key)s” is already used by another question.") % {"key": key},
                code="duplicate_key",
                field="key",
            ) from e
        changelog.record(
            "question.added",
            subject=question,
            scope=pilot,
            actor=user,
            changes=changelog.diff({}, changelog.snapshot(question, QUESTION_FIELDS)),
        )
    return question


def _check_question(
    *,
    key: str,
    text: str,
    kind: str,
    min_value: Decimal | None,
    max_value: Decimal | None,
    step: Decimal | None,
    choices: list | None,
    language: str | None,
    translations: dict | None,
) -> tuple[str, dict[str, dict[str, str]], list[list[str]], Decimal]:
    """The checks of a question's own fields (no pilot needed): language, translations,
    choices and step as they are stored."""
    language = _check_language(language)
    translations = _check_translations(translations or {}, written_in=language)
    if not KEY_RE.match(key):
        raise ValidationFailed(
            _("Use 2 to 64 lowercase letters, digits or underscores, starting with a letter."),
            code="invalid_key",
            field="key",
        )
    if not text:
        raise ValidationFailed(_("Write the question."), code="required", field="text")
    if kind not in Question.Kind.values:
        raise ValidationFailed(_("Choose a kind of question."), code="invalid_choice", field="kind")
    choices = _check_kind_settings(kind, min_value, max_value, choices or [])
    step = _check_step(kind, step, min_value, max_value)
    return language, translations, choices, step


# ---------------------------------------------------------------------------------------------
# Own questions as data: what a pilot template keeps and a new proposal recreates
# (registered with pilots.question_keys, since pilots may not import feedback).

# The fields of a question as data, with the default of each.
DATA_FIELDS: dict[str, object] = {
    "key": "",
    "text": "",
    "help_text": "",
    "kind": "",
    "required": False,
    "min_value": None,
    "max_value": None,
    "step": None,
    "min_label": "",
    "max_label": "",
    "unit": "",
    "choices": [],
    "language": "",
    "translations": {},
}
_DECIMAL_FIELDS = ("min_value", "max_value", "step")


def questions_as_data(pilot: Pilot) -> list[dict]:
    """A pilot's own questions as plain JSON data, in the order they are asked (one query)."""
    rows = []
    for question in Question.objects.filter(pilot=pilot).order_by("position", "pk"):
        row = {}
        for name in DATA_FIELDS:
            value = getattr(question, name)
            if name in _DECIMAL_FIELDS:
                value = None if value is None else format(value.normalize(), "f")
            row[name] = value
        if question.kind != Question.Kind.NUMBER:
            row["step"] = None
        rows.append(row)
    return rows


def _decimal(value: object, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError) as e:
        raise ValidationFailed(_("Give a number."), code="invalid_number", field=field) from e


def _arguments(row: object) -> dict:
    """A question's data as add_question's arguments (a field missing takes its default)."""
    if not isinstance(row, dict):
        raise ValidationFailed(
            _("Each question is an object with a key, a text and a kind."),
            code="invalid_question",
            field="key",
        )
    unknown = sorted(set(row) - set(DATA_FIELDS))
    if unknown:
        raise ValidationFailed(
            _("Unknown field of a question: %(names)s.") % {"names": ", ".join(unknown)},
            code="invalid_question",
            field=unknown[0],
        )
    args = {name: row.get(name, default) for name, default in DATA_FIELDS.items()}
    for name in _DECIMAL_FIELDS:
        args[name] = _decimal(args[name], name)
    for name in ("key", "text", "help_text", "kind", "min_label", "max_label", "unit"):
        args[name] = str(args[name] or "").strip()
    args["required"] = bool(args["required"])
    args["language"] = args["language"] or None
    return args


def check_questions_data(rows: list) -> list[AskedQuestion]:
    """Check own questions given as data, as add_question would; return them as asked.

    Errors name the row (`questions-0-key`). The keys must be new: unique among the rows and
    not taken by the default questionnaire; at most MAX_EXTRA_QUESTIONS.
    """
    if len(rows) > MAX_EXTRA_QUESTIONS:
        raise ValidationFailed(
            _("A pilot can have at most %(max)d questions of its own.")
            % {"max": MAX_EXTRA_QUESTIONS},
            code="too_many_questions",
            field="questions",
        )
    reserved: set[str] | None = None
    asked: list[AskedQuestion] = []
    for i, row in enumerate(rows):
        try:
            args = _arguments(row)
            _check_question(
                key=args["key"],
                text=args["text"],
                kind=args["kind"],
                min_value=args["min_value"],
                max_value=args["max_value"],
                step=args["step"],
                choices=args["choices"],
                language=args["language"],
                translations=args["translations"],
            )
        except ValidationFailed as e:
            raise ValidationFailed(e.message, code=e.code, field=f"questions-{i}-{e.field}") from e
        if reserved is None:
            reserved = set(
                Question.objects.filter(
                    questionnaire__is_default=True, questionnaire__is_current=True
                ).values_list("key", flat=True)
            )
        if args["key"] in reserved or args["key"] in {q.key for q in asked}:
            raise ValidationFailed(
                _("The key “%(key)s” is already used by another question.") % {"key": args["key"]},
                code="duplicate_key",
                field=f"questions-{i}-key",
            )
        asked.append(
            AskedQuestion(
                key=args["key"],
                kind=args["kind"],
                kind_label=str(Question.Kind(args["kind"]).label),
                text=args["text"],
            )
        )
    return asked


def add_questions_data(pilot_id: int, *, user: AbstractBaseUser, rows: list) -> list[Question]:
    """Add own questions given as data to a pilot, each through add_question (its rules and
    its change record); errors name the row (`questions-0-key`)."""
    added = []
    for i, row in enumerate(rows):
        try:
            added.append(add_question(pilot_id, user=user, **_arguments(row)))
        except ValidationFailed as e:
            raise ValidationFailed(e.message, code=e.code, field=f"questions-{i}-{e.field}") from e
    return added


TRANSLATED_FIELDS = {"text": 300, "help_text": 300}


def _languages() -> dict[str, str]:
    return {code: str(name) for code, name in settings.LANGUAGES}


def _check_language(language: str | None) -> str:
    language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:2]
    if language not in _languages():
        raise ValidationFailed(
            _("Choose the language the question is written in."),
            code="invalid_choice",
            field="language",
        )
    return language


def _check_translations(
    translations: dict[str, dict[str, str]], *, written_in: str
) -> dict[str, dict[str, str]]:
    """Keep the non-blank texts given for the other languages, within their lengths."""
    checked: dict[str, dict[str, str]] = {}
    for language, texts in translations.items():
        if language not in _languages() or language == written_in:
            raise ValidationFailed(
                _("A translation must be into another language than the question's."),
                code="invalid_translation",
                field="translations",
            )
        given = {}
        for name, value in (texts or {}).items():
            if name not in TRANSLATED_FIELDS:
                raise ValidationFailed(
                    _("Only the question and its help text can be translated here."),
                    code="invalid_translation",
                    field="translations",
                )
            value = (value or "").strip()
            if len(value) > TRANSLATED_FIELDS[name]:
                raise ValidationFailed(
                    _("Keep the translation under %(max)d characters.")
                    % {"max": TRANSLATED_FIELDS[name]},
                    code="too_long",
                    field="translations",
                )
            if value:
                given[name] = value
        if given:
            checked[language] = given
    return checked


def _check_kind_settings(
    kind: str, min_value: Decimal | None, max_value: Decimal | None, choices: list
) -> list[list[str]]:
    if kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
        if min_value is None:
            raise ValidationFailed(_("Give the lowest value."), code="required", field="min_value")
        if max_value is None:
            raise ValidationFailed(_("Give the highest value."), code="required", field="max_value")
        if max_value <= min_value:
            raise ValidationFailed(
                _("The highest value must be above the lowest."),
                code="range_out_of_order",
                field="max_value",
            )
        if kind == Question.Kind.SCALE:
            if min_value != int(min_value) or max_value != int(max_value):
                raise ValidationFailed(
                    _("A scale goes from one whole number to another."),
                    code="not_whole",
                    field="max_value",
                )
            if max_value - min_value + 1 > MAX_SCALE_POINTS:
                raise ValidationFailed(
                    _("A scale has at most %(n)d points.") % {"n": MAX_SCALE_POINTS},
                    code="scale_too_wide",
                    field="max_value",
                )
    if kind != Question.Kind.CHOICE:
        return []
    cleaned = [[str(v).strip(), str(label).strip()] for v, label in choices]
    values = [v for v, _label in cleaned]
    if len(cleaned) < 2 or not all(v and label for v, label in cleaned):
        raise ValidationFailed(
            _("Give at least two options, one per line."), code="too_few_choices", field="choices"
        )
    if len(set(values)) != len(values):
        raise ValidationFailed(
            _("Two options have the same value."), code="duplicate_choice", field="choices"
        )
    return cleaned


def _check_step(
    kind: str, step: Decimal | None, min_value: Decimal | None, max_value: Decimal | None
) -> Decimal:
    """The step of a number question: positive, in hundredths, no wider than its range.

    Scales go in whole points (step 1); other kinds have no answers on a grid (1, unused).
    """
    if kind != Question.Kind.NUMBER or step is None:
        if kind == Question.Kind.SCALE and step is not None and step != 1:
            raise ValidationFailed(
                _("A scale goes in steps of 1."), code="invalid_step", field="step"
            )
        return Decimal(1)
    if step <= 0 or step != step.quantize(Decimal("0.01")):
        raise ValidationFailed(
            _("The step is a positive number with at most two decimals, e.g. 1 or 0.01."),
            code="invalid_step",
            field="step",
        )
    if max_value is not None and min_value is not None and step > max_value - min_value:
        raise ValidationFailed(
            _("The step must fit between the lowest and the highest value."),
            code="invalid_step",
            field="step",
        )
    return step


def remove_question(question_id: int, *, user: AbstractBaseUser) -> None:
    """Remove a lead's question that nobody answered yet and nothing of the pilot measures."""
    with transaction.atomic():
        question = (
            Question.objects.select_for_update().filter(pk=question_id, pilot__isnull=False).first()
        )
        if question is None:
            raise ValidationFailed(
                _("This question no longer exists."), code="not_found", field="question"
            )
        pilot = Pilot.objects.select_for_update().get(pk=question.pilot_id)
        _check_manager(pilot, user)
        if question.answers.exists():
            raise ValidationFailed(
                _(
                    "“%(text)s” has answers already, so it is frozen: removing or changing it "
                    "would rewrite past results. Add a new question instead."
                )
                % {"text": question.text},
                code="question_frozen",
                field="question",
            )
        # Under the pilot's lock, which editing the draft's metrics and guardrails also takes.
        uses = measures.uses_of([question.key], pilot_id=pilot.pk)
        if uses:
            raise ValidationFailed(
                _(
                    "“%(text)s” measures %(uses)s: choose another question for them, or "
                    "remove them, before removing it."
                )
                % {"text": question.text, "uses": ", ".join(uses)},
                code="question_in_use",
                field="question",
            )
        changelog.record(
            "question.removed",
            subject=question,
            scope=pilot,
            actor=user,
            changes=changelog.diff(changelog.snapshot(question, QUESTION_FIELDS), {}),
        )
        question.delete()


def is_frozen(question: Question) -> bool:
    return question.answers.exists()
