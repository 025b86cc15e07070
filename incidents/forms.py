"""The incident report form and Ops' triage form: they parse; incidents.reporting decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pilots.models import AITool, GuardrailBreach

from .models import Incident


class ReportForm(forms.Form):
    pilot = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("Pilot"),
        help_text=_("Leave empty if the incident is about a tool outside any pilot."),
    )
    tool = forms.ModelChoiceField(
        queryset=AITool.objects.order_by("name"), required=False, label=_("AI tool")
    )
    kind = forms.ChoiceField(choices=Incident.Kind.choices, label=_("What kind of incident?"))
    severity = forms.ChoiceField(choices=Incident.Severity.choices, label=_("How serious?"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        label=_("What happened?"),
        help_text=_("No names needed: say what happened, not who did it."),
    )

    def __init__(self, *args: Any, pilots, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pilot"].queryset = pilots


class TriageForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices, label=_("Move to"))
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Note"))


class LinkBreachForm(forms.Form):
    breach = forms.ModelChoiceField(queryset=GuardrailBreach.objects.none(), label=_("Breach"))

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        breaches = GuardrailBreach.objects.select_related("pilot").order_by("-created_at")
        if incident.pilot_id is not None:
            breaches = breaches.filter(pilot_id=incident.pilot_id)
        self.fields["breach"].queryset = breaches
