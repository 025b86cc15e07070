"""Forms of the web pages: they parse input; the rules live in proposals and declarations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from . import measures, proposals, risk
from .choices import BudgetAction
from .models import (
    AITool,
    DataClassification,
    Guardrail,
    Pilot,
    Stage,
    SuccessMetric,
    Team,
)
from .question_keys import AskedQuestion


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class ProposalForm(forms.ModelForm):
    """The pilot's own fields; metrics and guardrails are formsets next to it."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("Team"))
    participants = PersonChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Participants"),
        help_text=_("Members of your team who will use the tool and answer feedback prompts."),
    )
    # The intake risk questionnaire (pilots.risk): it sets the risk level and AI Act category.
    risk_answers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("What will the tool be used for?"),
        help_text=_(
            "Tick every use that applies; leave all unticked if none does. The risk level "
            "follows from your answers (EU AI Act)."
        ),
    )

    class Meta:
        model = Pilot
        fields = (
            "title",
            "team",
            "problem",
            "hypothesis_intervention",
            "hypothesis_outcome",
            "hypothesis_who",
            "hypothesis_signal",
            "tool",
            "data_classification",
            "data_description",
            "planned_start",
            "planned_end",
            "budget_cap",
            "budget_action",
            "participants",
            "cadence",
            "cadence_weekday",
            "response_window_days",
            "anonymous_feedback",
        )
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 3}),
            "data_description": forms.Textarea(attrs={"rows": 2}),
            "planned_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "planned_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, teams, members, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["tool"].queryset = AITool.objects.usable()
        self.fields["participants"].queryset = members
        self.fields["risk_answers"].choices = [
            (question, answers) for _key, question, answers in risk.questions() if answers
        ]
        if self.instance.pk and not self.is_bound:
            self.initial["risk_answers"] = self.instance.risk_answers or []
        window = self.fields["response_window_days"]
        window.min_value, window.max_value = proposals.RESPONSE_WINDOW_DAYS
        window.widget.attrs.update(min=window.min_value, max=window.max_value)
        window.validators += [
            MinValueValidator(window.min_value),
            MaxValueValidator(window.max_value),
        ]
        # Not asked of older clients: left out, the guardrail only flags (the model's default).
        self.fields["budget_action"].required = False
        if teams.count() == 1 and not self.initial.get("team"):
            self.initial["team"] = teams.first().pk

    def clean_budget_action(self) -> str:
        return self.cleaned_data.get("budget_action") or BudgetAction.FLAG

    def _post_clean(self) -> None:
        # The model's own clean() runs the registry rules; proposals.py runs them again, and
        # reports them with the field, so skip the model round trip here.
        return


class RowForm(forms.Form):
    """A row of a formset; it counts as filled once any of its `key_fields` is typed in."""

    key_fields: tuple[str, ...] = ()

    def has_changed(self) -> bool:
        # Compared with blank rather than with the initial row, so an unchanged saved row is
        # still validated and kept, and an untouched empty row is ignored.
        return any((self[name].data or "").strip() for name in self.key_fields)


class RowFormSet(forms.BaseFormSet):
    def _construct_form(self, i: int, **kwargs: Any):
        kwargs["empty_permitted"] = True
        return super()._construct_form(i, **kwargs)


def question_choices(
    offered: Sequence[AskedQuestion],
    asked: Sequence[AskedQuestion],
    current: str | None,
    *,
    blank: str,
) -> list:
    """The options of a question select: the offered questions grouped by kind.

    A current key that is not offered (typed in an older version of the page, or stored
    before keys were checked) is kept as an option of its own, so re-displaying the row
    loses nothing and shows what is wrong with it.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for question in offered:
        groups.setdefault(question.kind_label, []).append((question.key, question.label))
    choices: list = [("", blank)]
    if current and current not in {q.key for q in offered}:
        known = next((q for q in asked if q.key == current), None)
        choices.append(
            (
                current,
                known.label
                if known is not None
                else _("%(key)s (not a question this pilot asks)") % {"key": current},
            )
        )
    choices.extend(groups.items())
    return choices


class QuestionRowForm(RowForm):
    """A row measured by a feedback question, picked from the questions the pilot asks."""

    blank_question = "—"

    def __init__(self, *args: Any, questions: Sequence[AskedQuestion] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["question_key"].widget.choices = question_choices(
            self.offered(questions),
            questions,
            self["question_key"].value(),
            blank=str(self.blank_question),
        )

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        raise NotImplementedError


class MetricForm(QuestionRowForm):
    key_fields = ("name", "question_key", "baseline", "target")
    blank_question = _("Choose a question")
    name = forms.CharField(label=_("Metric"), max_length=120)
    # The list is what the page offers; proposals checks the key against the asked questions
    # (`unknown_question`), so a stale or forged key gets the same error as anywhere else.
    question_key = forms.CharField(
        label=_("Measured by the question"),
        widget=forms.Select,
        help_text=_(
            "A number, scale or yes/no question of the feedback questionnaire, or one of "
            "your pilot's own questions."
        ),
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=SuccessMetric.Direction.choices,
        initial=SuccessMetric.Direction.HIGHER,
    )
    baseline = forms.DecimalField(
        label=_("Baseline"), max_digits=10, decimal_places=2, required=False
    )
    target = forms.DecimalField(label=_("Target"), max_digits=10, decimal_places=2)
    min_responses = forms.IntegerField(label=_("Minimum responses"), min_value=1, initial=10)

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        return measures.metric_questions(questions)


class GuardrailForm(QuestionRowForm):
    key_fields = ("description", "question_key", "threshold")
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Guardrail.Kind.choices, initial=Guardrail.Kind.POLICY
    )
    description = forms.CharField(label=_("Rule"), max_length=300)
    forbids_data_exposure = forms.BooleanField(
        label=_("Forbids confidential data exposure"), required=False
    )
    question_key = forms.CharField(
        label=_("Question"),
        widget=forms.Select,
        required=False,
        help_text=_(
            "For a metric threshold. The mean needs a number or scale question; a number or "
            "share of 'yes' answers needs a yes/no question."
        ),
    )
    statistic = forms.ChoiceField(
        label=_("Statistic"), required=False, choices=[("", "—"), *Guardrail.Statistic.choices]
    )
    comparator = forms.ChoiceField(
        label=_("Must stay"), required=False, choices=[("", "—"), *Guardrail.Comparator.choices]
    )
    threshold = forms.DecimalField(
        label=_("Threshold"), max_digits=10, decimal_places=2, required=False
    )
    action = forms.ChoiceField(
        label=_("On breach"), choices=Guardrail.Action.choices, initial=Guardrail.Action.FLAG
    )

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        return measures.guardrail_questions(questions)


MetricFormSet = forms.formset_factory(MetricForm, formset=RowFormSet, extra=0, can_delete=True)
GuardrailFormSet = forms.formset_factory(
    GuardrailForm, formset=RowFormSet, extra=0, can_delete=True
)


class DeclarationForm(forms.Form):
    tool_name = forms.CharField(label=_("Tool"), max_length=120)
    vendor = forms.CharField(label=_("Vendor"), max_length=120, required=False)
    used_for = forms.CharField(
        label=_("What you use it for"), widget=forms.Textarea(attrs={"rows": 3})
    )
    data_classification = forms.ChoiceField(
        label=_("Most sensitive data you give it"),
        choices=DataClassification.choices,
        initial=DataClassification.INTERNAL,
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        label=_("Team"),
        empty_label=_("My first team"),
    )

    def __init__(self, *args: Any, teams, anonymous: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if anonymous:
            # No default team: naming one is the person's choice.
            self.fields["team"].empty_label = _("No team")
            self.fields["team"].help_text = _(
                "Optional. Ops see counts per team only when several people declared the tool."
            )


class PortfolioFilterForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label=_("Team"),
        empty_label=_("All teams"),
        to_field_name="slug",
    )
    tool = forms.ModelChoiceField(
        queryset=AITool.objects.all(), required=False, label=_("Tool"), empty_label=_("All tools")
    )
    risk = forms.ChoiceField(
        label=_("Risk"),
        required=False,
        choices=[("", _("All risk levels")), *Pilot.RiskLevel.choices],
    )
    stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("All stages")), *Stage.choices],
    )
