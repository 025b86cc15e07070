"""Forms of the feedback pages; the rules themselves live in the domain modules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.html import format_html
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


class AnswerForm(forms.Form):
    """A form built from a round's questions; answering.validate_answers checks them.

    Its words are the questions' in `language` (default: the active one), falling back to the
    language each question is written in; the values submitted are the same in every language.
    """

    def __init__(
        self, questions: list[Question], *args: Any, language: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.words = {q.key: q.localized(language) for q in questions}
        self.page_language = (language or translation.get_language() or "")[:2]
        for question in questions:
            field = _field_for(question, self.words[question.key], foreign=self.lang(question))
            field.question = question  # type: ignore[attr-defined]
            attrs = field.widget.attrs
            if field.help_text:
                attrs["aria-describedby"] = f"{question.key}-help"
            if question.shown_if_key:
                attrs["data-shown-if"] = question.shown_if_key
                attrs["data-shown-if-value"] = question.shown_if_value
            elif question.required:
                attrs["aria-required"] = "true"
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

    def full_clean(self) -> None:
        super().full_clean()
        self.full_clean_aria()

    def full_clean_aria(self) -> None:
        """Point each invalid input at its error message, for screen readers."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                described = attrs.get("aria-describedby", "")
                if f"{name}-errors" not in described:
                    attrs["aria-describedby"] = f"{described} {name}-errors".strip()
                attrs["aria-invalid"] = "true"

    def sections(self) -> list[dict[str, Any]]:
        """The bound fields with their question, for the template.

        `lang` is the language of a question's words when it is not the page's (a lead's
        question written in one language only), so screen readers pronounce it right.
        """
        return [
            {
                "field": self[q.key],
                "question": q,
                "words": self.words[q.key],
                "lang": self.lang(q),
                "is_group": isinstance(self.fields[q.key].widget, forms.RadioSelect),
                "condition": self._condition_words(q).text,
                "condition_value": _display_value(q.shown_if_value, self._condition_words(q)),
            }
            for q in self.questions
        ]

    def lang(self, question: Question) -> str:
        """The language of a question's words if it is not the page's, else ""."""
        language = self.words[question.key].language
        return "" if language == self.page_language else language

    def _condition_words(self, question: Question) -> LocalizedQuestion:
        """The words of the question a conditional question depends on (blank if none)."""
        if question.shown_if_key in self.words:
            return self.words[question.shown_if_key]
        return LocalizedQuestion(question.shown_if_key, "", "", "", "", "", "", [])


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
