"""The admin of pilot templates, the pilot list's "Save as template" action, and similar
pilots on a proposed pilot's page. Adapters over `pilots.pilot_templates` and
`pilots.similar`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, ValidationFailed

from . import access, pilot_templates, similar
from .models import Pilot, PilotTemplate, Stage

# What a template's JSON fields hold, shown to Ops beside them.
ROWS_HELP = {
    "metrics": gettext_lazy(
        'A JSON list, one object per metric: {"name": "…", "question_key": "…", '
        '"direction": "higher" or "lower", "baseline": "…", "target": "…", "min_responses": 10}.'
    ),
    "guardrails": gettext_lazy(
        'A JSON list, one object per guardrail: {"kind": "policy" or "metric", '
        '"description": "…", "forbids_data_exposure": false, "question_key": "…", '
        '"statistic": "mean", "comparator": "le", "threshold": "…", "action": "flag"}.'
    ),
    "questions": gettext_lazy(
        'A JSON list of the pilot\'s own questions: {"key": "…", "text": "…", "kind": '
        '"scale", "min_value": "1", "max_value": "5", …}; metrics may name their keys.'
    ),
}


def _field_words(field: str) -> tuple[str, str]:
    """The form field of a domain error's field, and words for the row it names."""
    name, _sep, rest = field.partition("-")
    index, _sep, column = rest.partition("-")
    if name in ROWS_HELP and index.isdigit():
        return name, _("row %(row)d, %(field)s") % {"row": int(index) + 1, "field": column}
    return name, ""


class PilotTemplateForm(forms.ModelForm):
    class Meta:
        model = PilotTemplate
        fields = [
            "name",
            "description",
            *pilot_templates.TEMPLATE_FIELDS,
            "metrics",
            "guardrails",
            "questions",
        ]
        help_texts = ROWS_HELP

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            pilot_templates.validate(
                {name: data.get(name) for name in pilot_templates.TEMPLATE_FIELDS},
                metrics=data.get("metrics") or [],
                guardrails=data.get("guardrails") or [],
                questions=data.get("questions") or [],
            )
        except ValidationFailed as e:
            name, row = _field_words(e.field or "")
            message = f"{row}: {e.message}" if row else e.message
            self.add_error(name if name in self.fields else None, message)
        return data


@admin.register(PilotTemplate)
class PilotTemplateAdmin(admin.ModelAdmin):
    form = PilotTemplateForm
    list_display = ["name", "tool", "risk_level", "source_pilot", "created_at"]
    list_select_related = ["tool", "source_pilot"]
    search_fields = ["name", "description"]
    readonly_fields = ["source_pilot", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and access.may_manage_templates(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and access.may_manage_templates(
            request.user
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and access.may_manage_templates(
            request.user
        )

    def save_model(self, request: HttpRequest, obj: PilotTemplate, form, change: bool) -> None:
        data = form.cleaned_data
        template = pilot_templates.write(
            obj.pk if change else None,
            actor=request.user,
            name=data["name"],
            description=data.get("description", ""),
            fields={name: data.get(name) for name in pilot_templates.TEMPLATE_FIELDS},
            metrics=data.get("metrics") or [],
            guardrails=data.get("guardrails") or [],
            questions=data.get("questions") or [],
        )
        obj.pk = template.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: PilotTemplate) -> None:
        pilot_templates.delete(obj.pk, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for pk in queryset.values_list("pk", flat=True):
            pilot_templates.delete(pk, actor=request.user)


@admin.action(description=gettext_lazy("Save as template"))
def save_as_template(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Save each chosen pilot as a template named after it (Ops rename it in the templates)."""
    for pilot in queryset.order_by("pk"):
        try:
            template = pilot_templates.save_from_pilot(
                pilot.pk, actor=request.user, name=pilot.title
            )
        except DomainError as e:
            modeladmin.message_user(request, f"{pilot.title}: {e.message}", messages.ERROR)
        else:
            modeladmin.message_user(
                request,
                _("Saved as the template “%(name)s”: leads can start from it when they propose.")
                % {"name": template.name},
                messages.SUCCESS,
            )


def similar_context(request: HttpRequest, object_id) -> dict:
    """On a proposed pilot's admin page: pilots on its tool with a similar problem."""
    pilot = Pilot.objects.filter(pk=object_id).only("pk", "stage", "tool_id", "problem").first()
    if pilot is None or pilot.stage != Stage.PROPOSED:
        return {}
    return {
        "similar_pilots": similar.similar_pilots(
            request.user, tool_id=pilot.tool_id, problem=pilot.problem, exclude_pilot_id=pilot.pk
        ),
        "shows_similar": True,
    }
