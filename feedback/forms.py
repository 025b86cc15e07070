"""Forms of the feedback pages; the rules themselves live in the domain modules."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.exceptions import ValidationFailed

from . import answering
from .models import LocalizedQuestion, Question


def _describe(question: Question, words: LocalizedQuestion) -> str:
    if question.kind == Question.Kind.NUMBER and words.unit:
        return _("%(help)s In %(unit)s, from %(min)s to %(max)s.") % {
            "help": words.help_text,
            "unit": words.unit,
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
        }
    if question.kind == Question.Kind.NUMBER:
        return _("%(help)s From %(min)s to %(max)s.") % {
            "help": words.help_text,
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
        }
    return words.help_text


def _in_language(text: str, language: str) -> str:
    """Mark words written in another language than the page's, for screen readers."""
    return format_html('<span lang="{}">{}</span>', language, text) if language else text


def _field_for(question: Question, words: LocalizedQuestion, *, foreign: str = "") -> forms.Field:
    """The field of one question, worded in `words` (values stay the question's own).

    `foreign` is the language of the words when it is not the page's: option labels say so.
    """
    common: dict[str, Any] = {
        "label": words.text,
        "required": False,
        "help_text": _describe(question, words).strip(),
    }
    kind = question.kind
    if kind == Question.Kind.SCALE:
        lo, hi = int(question.min_value), int(question.max_value)
        choices = []
        for n in range(lo, hi + 1):
            label = str(n)
            if n == lo and words.min_label:
                label = format_html("{} – {}", n, _in_language(words.min_label, foreign))
            elif n == hi and words.max_label:
                label = format_html("{} – {}", n, _in_language(words.max_label, foreign))
            choices.append((str(n), label))
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if kind == Question.Kind.NUMBER:
        attrs = {
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
            "step": answering._fmt(question.step),
            "inputmode": "decimal",
        }
        return forms.CharField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == Question.Kind.YES_NO:
        return forms.ChoiceField(
            choices=[(answering.YES, _("Yes")), (answering.NO, _("No"))],
            widget=forms.RadioSelect,
            **common,
        )
    if kind == Question.Kind.CHOICE:
        return forms.ChoiceField(
            choices=[(value, _in_language(label, foreign)) for value, label in words.choices],
            widget=forms.RadioSelect,
            **common,
        )
    return forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=answering.TEXT_MAX_LENGTH, **common
    )


@dataclass(frozen=True)
class QuestionSpec:
    """One question ready to show: its words in one language and its control's fixed parts.

    Built once per question set and language (cached), so a page shows its controls without
    Django's template-rendered widgets (one template render per radio option).
    """

    question: Question
    words: LocalizedQuestion
    lang: str
    label: str
    help_text: str
    is_group: bool
    options: tuple[tuple[str, str], ...]
    attrs: tuple[tuple[str, str], ...]
    condition: str
    condition_value: str


@dataclass
class _Cached:
    """A question set's specs in one language, and its blank questions' HTML once rendered."""

    specs: list[QuestionSpec]
    blank_html: str | None = None


_SPECS: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
_SPECS_SIZE = 256
_SPECS_LOCK = threading.Lock()


def _fingerprint(questions: list[Question]) -> str:
    # Every stored field of every question: a question edited (or added to the pilot while
    # the round is open) is a new key, never a stale page.
    return repr(
        [[getattr(q, f.attname) for f in Question._meta.concrete_fields] for q in questions]
    )


def _cached(questions: list[Question], language: str | None) -> tuple[tuple[str, str], _Cached]:
    page_language = (language or translation.get_language() or "")[:2]
    key = (page_language, _fingerprint(questions))
    with _SPECS_LOCK:
        cached = _SPECS.get(key)
        if cached is not None:
            _SPECS.move_to_end(key)
            return key, cached
    with translation.override(page_language or None):
        cached = _Cached(_build_specs(questions, page_language))
    with _SPECS_LOCK:
        _SPECS[key] = cached
        while len(_SPECS) > _SPECS_SIZE:
            _SPECS.popitem(last=False)
    return key, cached


def question_specs(questions: list[Question], language: str | None = None) -> list[QuestionSpec]:
    """Return the questions' specs in `language` (default: the active one), cached."""
    return _cached(questions, language)[1].specs


def _build_specs(questions: list[Question], page_language: str) -> list[QuestionSpec]:
    words = {q.key: q.localized(page_language) for q in questions}
    blank = LocalizedQuestion("", "", "", "", "", "", "", [])
    specs = []
    for question in questions:
        own = words[question.key]
        lang = "" if own.language == page_language else own.language
        field = _field_for(question, own, foreign=lang)
        attrs = dict(field.widget.attrs)
        attrs.update(field.widget_attrs(field.widget))
        if field.help_text:
            attrs["aria-describedby"] = f"{question.key}-help"
        if question.shown_if_key:
            attrs["data-shown-if"] = question.shown_if_key
            attrs["data-shown-if-value"] = question.shown_if_value
        elif question.required:
            attrs["aria-required"] = "true"
        is_group = isinstance(field.widget, forms.RadioSelect)
        condition = words.get(question.shown_if_key, blank)
        specs.append(
            QuestionSpec(
                question=question,
                words=own,
                lang=lang,
                label=str(field.label),
                help_text=str(field.help_text),
                is_group=is_group,
                options=tuple((str(v), str(label)) for v, label in getattr(field, "choices", ())),
                attrs=tuple((k, str(v)) for k, v in attrs.items()),
                condition=condition.text,
                condition_value=str(_display_value(question.shown_if_value, condition)),
            )
        )
    return specs


def _attrs_html(attrs: dict[str, str]) -> str:
    return "".join(f' {name}="{escape(value)}"' for name, value in attrs.items())


def render_control(spec: QuestionSpec, value: Any, *, invalid: bool) -> str:
    """Return the HTML of one question's input(s), as Django's widgets would write it."""
    key = spec.question.key
    attrs = dict(spec.attrs)
    if invalid:
        described = attrs.get("aria-describedby", "")
        attrs["aria-describedby"] = f"{described} {key}-errors".strip()
        attrs["aria-invalid"] = "true"
    name = escape(key)
    if spec.is_group:
        chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)}
        common = _attrs_html(attrs)
        parts = [f'<div id="id_{name}">']
        for i, (option, label) in enumerate(spec.options):
            checked = " checked" if option in chosen else ""
            parts.append(
                f'<div>\n    <label for="id_{name}_{i}"><input type="radio" name="{name}" '
                f'value="{escape(option)}"{common} id="id_{name}_{i}"{checked}>\n '
                f"{conditional_escape(label)}</label>\n\n</div>"
            )
        parts.append("\n</div>")
        return mark_safe("".join(parts))  # noqa: S308 # nosec B308 B703: every value above is escaped
    attrs["id"] = f"id_{key}"
    if spec.question.kind == Question.Kind.TEXT:
        text = escape(value) if value else ""
        return mark_safe(  # noqa: S308 # nosec B308 B703: escaped
            f'<textarea name="{name}"{_attrs_html(attrs)}>\n{text}</textarea>'
        )
    shown = "" if value in (None, "") else f' value="{escape(value)}"'
    return mark_safe(f'<input type="number" name="{name}"{shown}{_attrs_html(attrs)}>')  # noqa: S308 # nosec B308 B703


class AnswerForm(forms.Form):
    """A form built from a round's questions; answering.validate_answers checks them.

    Its words are the questions' in `language` (default: the active one), falling back to the
    language each question is written in; the values submitted are the same in every language.
    The page shows its controls from the cached specs (render_control), not from the widgets;
    the fields that validate the submitted values exist only on a bound form.
    """

    def __init__(
        self, questions: list[Question], *args: Any, language: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self._key, self._cached = _cached(questions, language)
        self.specs = self._cached.specs
        self.words = {s.question.key: s.words for s in self.specs}
        if not self.is_bound:
            # Shown, not validated: the page writes its controls from the specs.
            return
        for spec in self.specs:
            question = spec.question
            if spec.is_group:
                field: forms.Field = forms.ChoiceField(
                    choices=spec.options, required=False, widget=forms.RadioSelect
                )
            elif question.kind == Question.Kind.TEXT:
                field = forms.CharField(required=False, max_length=answering.TEXT_MAX_LENGTH)
            else:
                field = forms.CharField(required=False)
            field.label = spec.label
            field.question = question  # type: ignore[attr-defined]
            self.fields[question.key] = field

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            self.clean_answers = answering.validate_answers(self.questions, self.answers())
        except answering.AnswersInvalid as e:
            self.add_domain_errors(e.errors)
        return data

    def answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def add_domain_errors(self, errors: list[ValidationFailed]) -> None:
        for error in errors:
            field = error.field if error.field in self.fields else None
            if field is not None and field in self.errors:
                continue  # the field's own check already explained what is wrong
            self.add_error(field, error.message)

    def _value(self, key: str) -> Any:
        if self.is_bound:
            if isinstance(self.fields[key].widget, forms.RadioSelect):
                return (
                    self.data.getlist(key) if hasattr(self.data, "getlist") else self.data.get(key)
                )
            return self.data.get(key)
        return self.initial.get(key)

    def sections(self) -> list[dict[str, Any]]:
        """The questions with their words and their control's HTML, for the template.

        `lang` is the language of a question's words when it is not the page's (a lead's
        question written in one language only), so screen readers pronounce it right.
        """
        errors = self.errors if self.is_bound else {}
        return [
            {
                "question": spec.question,
                "words": spec.words,
                "lang": spec.lang,
                "label": spec.label,
                "help_text": spec.help_text,
                "errors": errors.get(spec.question.key, ()),
                "is_group": spec.is_group,
                "condition": spec.condition,
                "condition_value": spec.condition_value,
                "control": render_control(
                    spec,
                    self._value(spec.question.key),
                    invalid=spec.question.key in errors,
                ),
            }
            for spec in self.specs
        ]

    def questions_html(self) -> str:
        """The questions' HTML (feedback/_questions.html), in the page's language.

        A blank form (a first visit: no answers, no errors) is the same for every reader of a
        question set in one language: its HTML is rendered once per process and cached with
        the specs, so a first visit renders only the page around it.
        """
        blank = not self.is_bound and not any(self.initial.values())
        if blank and self._cached.blank_html is not None:
            return self._cached.blank_html
        with translation.override(self._key[0] or None):
            html = render_to_string("feedback/_questions.html", {"form": self})
        if blank:
            self._cached.blank_html = html
        return html


def _display_value(value: str, condition: LocalizedQuestion) -> str:
    """An answer that a condition names, as the reader saw it offered."""
    labels = {answering.YES: str(_("Yes")), answering.NO: str(_("No")), **dict(condition.choices)}
    return labels.get(value, value)


class AbsenceForm(forms.Form):
    starts_on = forms.DateField(
        label=_("Away from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Back after (last day away)"), widget=forms.DateInput(attrs={"type": "date"})
    )


def _language_choices() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)


class ExtraQuestionForm(forms.Form):
    """A lead's own question. Its language starts as the page's; the other is optional."""

    text = forms.CharField(label=_("Question"), max_length=300)
    language = forms.ChoiceField(
        label=_("Written in"),
        choices=_language_choices,
        required=False,
        help_text=_(
            "Readers of the other language see the question as you wrote it, unless you also "
            "write it in their language below."
        ),
    )
    translated_text = forms.CharField(
        label=_("The question in the other language (optional)"),
        max_length=300,
        required=False,
    )
    key = forms.CharField(
        label=_("Key"),
        max_length=64,
        help_text=_(
            "Lowercase letters, digits and underscores; success metrics and guardrails "
            "refer to the question by it."
        ),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices)
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    min_value = forms.DecimalField(
        label=_("Lowest value (scale, number)"), required=False, max_digits=10, decimal_places=2
    )
    max_value = forms.DecimalField(
        label=_("Highest value (scale, number)"), required=False, max_digits=10, decimal_places=2
    )
    step = forms.DecimalField(
        label=_("Step (number)"),
        required=False,
        max_digits=10,
        decimal_places=2,
        help_text=_(
            "Answers are multiples of it from the lowest value: 1 for counts and minutes "
            "(the default), 0.01 for a rate or a share."
        ),
    )
    min_label = forms.CharField(label=_("Label at the lowest value"), max_length=60, required=False)
    max_label = forms.CharField(
        label=_("Label at the highest value"), max_length=60, required=False
    )
    unit = forms.CharField(label=_("Unit (number)"), max_length=30, required=False)
    choices = forms.CharField(
        label=_("Options (single choice)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line, as value|label, e.g. often|Often."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault(
            "language", (translation.get_language() or settings.LANGUAGE_CODE)[:2]
        )
        super().__init__(*args, **kwargs)
        if len(settings.LANGUAGES) != 2:
            # "The other language" names one language only when there are two.
            del self.fields["translated_text"]

    def clean_language(self) -> str:
        # Not sent (a form posted by a script): the language the page is shown in.
        return self.cleaned_data.get("language") or self.initial["language"]

    def translations(self) -> dict[str, dict[str, str]]:
        """The question's text in the other language, when the lead gave it."""
        text = self.cleaned_data.get("translated_text", "").strip()
        if not text:
            return {}
        written_in = self.cleaned_data["language"]
        [other] = [code for code, _name in settings.LANGUAGES if code != written_in]
        return {other: {"text": text}}

    def parsed_choices(self) -> list[list[str]]:
        lines = [line.strip() for line in self.cleaned_data.get("choices", "").splitlines()]
        parsed = []
        for line in filter(None, lines):
            value, sep, label = line.partition("|")
            parsed.append([value.strip(), (label if sep else value).strip()])
        return parsed
