"""Forms of the feedback pages; the rules themselves live in the domain modules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pilots.exceptions import ValidationFailed

from . import answering
from .models import Question


def _describe(question: Question) -> str:
    if question.kind == Question.Kind.NUMBER and question.unit:
        return _("%(help)s In %(unit)s, from %(min)s to %(max)s.") % {
            "help": question.help_text,
            "unit": question.unit,
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
        }
    if question.kind == Question.Kind.NUMBER:
        return _("%(help)s From %(min)s to %(max)s.") % {
            "help": question.help_text,
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
        }
    return question.help_text


def _field_for(question: Question) -> forms.Field:
    common: dict[str, Any] = {
        "label": question.text,
        "required": False,
        "help_text": _describe(question).strip(),
    }
    kind = question.kind
    if kind == Question.Kind.SCALE:
        lo, hi = int(question.min_value), int(question.max_value)
        choices = []
        for n in range(lo, hi + 1):
            label = str(n)
            if n == lo and question.min_label:
                label = f"{n} – {question.min_label}"
            elif n == hi and question.max_label:
                label = f"{n} – {question.max_label}"
            choices.append((str(n), label))
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if kind == Question.Kind.NUMBER:
        attrs = {
            "min": answering._fmt(question.min_value),
            "max": answering._fmt(question.max_value),
            "step": "any",
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
            choices=[(str(v), label) for v, label in question.choices],
            widget=forms.RadioSelect,
            **common,
        )
    return forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=answering.TEXT_MAX_LENGTH, **common
    )


class AnswerForm(forms.Form):
    """A form built from a round's questions; answering.validate_answers checks them."""

    def __init__(self, questions: list[Question], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            field = _field_for(question)
            field.question = question  # type: ignore[attr-defined]
            attrs = field.widget.attrs
            if question.help_text or field.help_text:
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
        """The bound fields with their question, for the template."""
        texts = {q.key: q.text for q in self.questions}
        return [
            {
                "field": self[q.key],
                "question": q,
                "is_group": isinstance(self.fields[q.key].widget, forms.RadioSelect),
                "condition": texts.get(q.shown_if_key, ""),
                "condition_value": _display_value(q.shown_if_value),
            }
            for q in self.questions
        ]


def _display_value(value: str) -> str:
    return {answering.YES: str(_("Yes")), answering.NO: str(_("No"))}.get(value, value)


class AbsenceForm(forms.Form):
    starts_on = forms.DateField(
        label=_("Away from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Back after (last day away)"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ExtraQuestionForm(forms.Form):
    text = forms.CharField(label=_("Question"), max_length=300)
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

    def parsed_choices(self) -> list[list[str]]:
        lines = [line.strip() for line in self.cleaned_data.get("choices", "").splitlines()]
        parsed = []
        for line in filter(None, lines):
            value, sep, label = line.partition("|")
            parsed.append([value.strip(), (label if sep else value).strip()])
        return parsed
