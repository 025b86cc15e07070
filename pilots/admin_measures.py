"""Success metrics and guardrails in the admin: what a pilot measures, and its repairs by Ops.

The pilot's inlines check each new or changed row's question with `pilots.measures`, so the
admin refuses what the proposal form refuses, with the same message on the same field. Two
changelists let Ops find the rows and repair them through the domain functions: correct a
question key (only while the pilot has no answered round) and disable a guardrail with a
reason. Rows are not edited or deleted from these lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed
from core.ops import is_ops

from . import measures, question_keys
from .forms import question_choices
from .models import Guardrail, Pilot, Stage, SuccessMetric
from .question_keys import AskedQuestion

ADMIN_BLANK = "---------"


# ---------------------------------------------------------------------------------------------
# The pilot's inlines


class MeasureInlineFormSet(forms.BaseInlineFormSet):
    """Rows of one pilot: the questions it asks are read once for all of them."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if not hasattr(self, "_asked"):
            pilot = self.instance if self.instance.pk is not None else None
            self._asked = question_keys.asked_questions(pilot, get_language())
        kwargs["questions"] = self._asked
        return kwargs


class MeasureInlineForm(forms.ModelForm):
    """A metric or guardrail row whose question is picked from the ones the pilot asks."""

    def __init__(self, *args: Any, questions: Sequence[AskedQuestion] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        field = self.fields.get("question_key")
        if field is not None:
            field.widget = forms.Select(
                choices=question_choices(
                    self.offered(self.questions),
                    self.questions,
                    self["question_key"].value(),
                    blank=ADMIN_BLANK,
                )
            )

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        raise NotImplementedError

    def check_question(self, data: dict, asked: dict[str, AskedQuestion]) -> None:
        raise NotImplementedError

    def clean(self) -> dict:
        data = super().clean()
        new = self.instance.pk is None
        if not (new or {"question_key", "statistic", "kind"} & set(self.changed_data)):
            return data  # an untouched stored row: `manage.py check` reports it if broken
        try:
            self.check_question(data, {q.key: q for q in self.questions})
            if not new and "question_key" in self.changed_data:
                measures.check_key_changeable(self.instance.pilot, self.initial["question_key"])
        except ValidationFailed as e:
            self.add_error(e.field if e.field in self.fields else None, e.message)
        return data


class SuccessMetricInlineForm(MeasureInlineForm):
    class Meta:
        model = SuccessMetric
        fields = ["name", "question_key", "direction", "baseline", "target", "min_responses"]

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        return measures.metric_questions(questions)

    def check_question(self, data: dict, asked: dict[str, AskedQuestion]) -> None:
        if data.get("question_key") is not None:
            measures.check_metric_question(asked, data["question_key"])


class GuardrailInlineForm(MeasureInlineForm):
    class Meta:
        model = Guardrail
        fields = [
            "kind",
            "description",
            "forbids_data_exposure",
            "question_key",
            "statistic",
            "comparator",
            "threshold",
            "action",
        ]

    def offered(self, questions: Sequence[AskedQuestion]) -> list[AskedQuestion]:
        return measures.guardrail_questions(questions)

    def check_question(self, data: dict, asked: dict[str, AskedQuestion]) -> None:
        if data.get("kind") == Guardrail.Kind.METRIC and data.get("question_key"):
            measures.check_guardrail_question(
                asked, data["question_key"], data.get("statistic", "")
            )


class DraftOnlyInline:
    """Rows a pilot is judged by change only while it is a draft (the lead's proposal).

    Once submitted, what Ops approved stays what the gates judge; and once a round is answered,
    a guardrail added or tightened on those answers would tell Ops what a few people said (a
    "ladder" of thresholds). Ops repair a key before any answer, or disable a guardrail with a
    reason, from the Success metrics and Guardrails lists (pilots.measures).
    """

    def _open(self, obj) -> bool:
        return obj is None or obj.stage == Stage.DRAFT

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._open(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._open(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._open(obj) and super().has_delete_permission(request, obj)


class SuccessMetricInline(DraftOnlyInline, admin.TabularInline):
    model = SuccessMetric
    form = SuccessMetricInlineForm
    formset = MeasureInlineFormSet
    extra = 0


class GuardrailInline(DraftOnlyInline, admin.StackedInline):
    model = Guardrail
    form = GuardrailInlineForm
    formset = MeasureInlineFormSet
    extra = 0
    readonly_fields = ["disabled_at", "disabled_by", "disabled_reason"]


# ---------------------------------------------------------------------------------------------
# The changelists and the repairs


class QuestionLabels:
    """The question behind each row of one changelist page, read once per pilot.

    The default questionnaire is read once; a pilot's own questions only for a row whose key
    the questionnaire does not have (a pilot's own key never shadows the questionnaire's).
    """

    def __init__(self, language: str | None) -> None:
        self.language = language
        self.common: dict[str, AskedQuestion] | None = None
        self.by_pilot: dict[int, dict[str, AskedQuestion]] = {}

    def asked(self, pilot: Pilot) -> dict[str, AskedQuestion]:
        if pilot.pk not in self.by_pilot:
            self.by_pilot[pilot.pk] = measures.questions_by_key(pilot, self.language)
        return self.by_pilot[pilot.pk]

    def question(self, obj: SuccessMetric | Guardrail) -> AskedQuestion | None:
        if self.common is None:
            self.common = measures.questions_by_key(None, self.language)
        return self.common.get(obj.question_key) or self.asked(obj.pilot).get(obj.question_key)


def _question_column(request: HttpRequest) -> Callable[[Any], str]:
    labels = QuestionLabels(get_language())

    @admin.display(description=gettext_lazy("question"))
    def question(obj: SuccessMetric | Guardrail) -> str:
        if not obj.question_key:
            return "—"
        found = labels.question(obj)
        if found is None:
            return _("“%(key)s”: not a question this pilot asks") % {"key": obj.question_key}
        return found.label

    return question


class MeasureAdmin(admin.ModelAdmin):
    """A view-only list of one kind of measure, with the Ops repairs as actions."""

    list_select_related = ["pilot"]
    search_fields = ["pilot__title", "question_key"]
    raw_id_fields = ["pilot"]
    actions = ["correct_question_key"]
    correct: Callable[..., Any]  # the domain function correcting one row's key

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing only: rows change on their pilot's page, keys through the action.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_ops_permission(self, request: HttpRequest) -> bool:
        return is_ops(request.user)

    def get_list_display(self, request: HttpRequest) -> list:
        display = list(super().get_list_display(request))
        display.insert(display.index("question_key") + 1, _question_column(request))
        return display

    def offered(self, measure: Any, questions: list[AskedQuestion]) -> list[AskedQuestion]:
        raise NotImplementedError

    @admin.action(description=gettext_lazy("Correct the question key"), permissions=["ops"])
    def correct_question_key(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for each row's question; on confirmation correct each one through the domain."""
        rows_by_pk = {m.pk: m for m in queryset.select_related("pilot").order_by("pk")}
        errors: dict[int, str] = {}
        if request.POST.get("confirm") == "yes":
            for measure in rows_by_pk.values():
                chosen = request.POST.get(f"question_key_{measure.pk}", "")
                try:
                    self.correct(measure.pk, actor=request.user, question_key=chosen)
                except DomainError as e:
                    errors[measure.pk] = e.message
                else:
                    self.message_user(
                        request,
                        _("%(pilot)s, “%(measure)s”: now measured by “%(key)s”.")
                        % {"pilot": measure.pilot, "measure": measure, "key": chosen},
                        messages.SUCCESS,
                    )
            if not errors:
                return None
            rows_by_pk = {pk: m for pk, m in rows_by_pk.items() if pk in errors}
        labels = QuestionLabels(get_language())
        rows = []
        for measure in rows_by_pk.values():
            questions = list(labels.asked(measure.pilot).values())
            answered = measures.has_answered_round(measure.pilot_id)
            chosen = request.POST.get(f"question_key_{measure.pk}", measure.question_key)
            rows.append(
                {
                    "measure": measure,
                    "current": labels.asked(measure.pilot).get(measure.question_key),
                    "choices": [(q.key, q.label) for q in self.offered(measure, questions)],
                    "chosen": chosen,
                    "answered": answered,
                    "error": errors.get(measure.pk, ""),
                }
            )
        return self._page(
            request,
            "admin/pilots/correct_question_key.html",
            title=_("Correct the question key"),
            rows=rows,
            action="correct_question_key",
        )

    def _page(self, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                **context,
            },
        )


@admin.register(SuccessMetric)
class SuccessMetricAdmin(MeasureAdmin):
    list_display = ["name", "pilot", "question_key", "direction", "baseline", "target"]
    list_filter = ["pilot__stage"]
    search_fields = ["name", *MeasureAdmin.search_fields]
    correct = staticmethod(measures.correct_metric_key)

    def offered(self, measure: Any, questions: list[AskedQuestion]) -> list[AskedQuestion]:
        return measures.metric_questions(questions)


class EnabledFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "enabled"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", gettext_lazy("Enabled")), ("no", gettext_lazy("Disabled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(disabled_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(disabled_at__isnull=False)
        return queryset


@admin.register(Guardrail)
class GuardrailAdmin(MeasureAdmin):
    list_display = [
        "description",
        "pilot",
        "kind",
        "question_key",
        "statistic",
        "comparator",
        "threshold",
        "action",
        "status",
    ]
    list_filter = [EnabledFilter, "kind", "pilot__stage"]
    list_select_related = ["pilot", "disabled_by"]
    search_fields = ["description", *MeasureAdmin.search_fields]
    readonly_fields = [
        "pilot",
        "kind",
        "description",
        "forbids_data_exposure",
        "question_key",
        "statistic",
        "comparator",
        "threshold",
        "action",
        "disabled_at",
        "disabled_by",
        "disabled_reason",
    ]
    fields = readonly_fields
    actions = ["correct_question_key", "disable_with_reason"]
    correct = staticmethod(measures.correct_guardrail_key)

    @admin.display(description=gettext_lazy("status"), ordering="disabled_at")
    def status(self, obj: Guardrail) -> str:
        if obj.is_enabled:
            return _("Enabled")
        return _("Disabled by %(who)s: %(reason)s") % {
            "who": obj.disabled_by.get_username() if obj.disabled_by else "—",
            "reason": obj.disabled_reason,
        }

    def offered(self, measure: Any, questions: list[AskedQuestion]) -> list[AskedQuestion]:
        kinds = measures.STATISTIC_KINDS.get(measure.statistic, frozenset())
        return [q for q in questions if q.kind in kinds]

    @admin.action(description=gettext_lazy("Disable with a reason"), permissions=["ops"])
    def disable_with_reason(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for the reason; on confirmation disable each guardrail through the domain."""
        guardrails = list(queryset.select_related("pilot", "disabled_by").order_by("pk"))
        reason = request.POST.get("reason", "")
        error = ""
        if request.POST.get("confirm") == "yes":
            for guardrail in guardrails:
                try:
                    measures.disable_guardrail(guardrail.pk, actor=request.user, reason=reason)
                except DomainError as e:
                    if e.field == "reason" and e.code == "reason_required":
                        error = e.message
                        break
                    self.message_user(
                        request,
                        _("%(pilot)s, “%(guardrail)s”: %(error)s")
                        % {"pilot": guardrail.pilot, "guardrail": guardrail, "error": e.message},
                        messages.ERROR,
                    )
                else:
                    self.message_user(
                        request,
                        _("%(pilot)s, “%(guardrail)s”: disabled; it is no longer evaluated.")
                        % {"pilot": guardrail.pilot, "guardrail": guardrail},
                        messages.SUCCESS,
                    )
            if not error:
                return None
        return self._page(
            request,
            "admin/pilots/guardrail/disable.html",
            title=_("Disable guardrails"),
            guardrails=guardrails,
            reason=reason,
            error=error,
        )
