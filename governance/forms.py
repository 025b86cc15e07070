from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pilots.models import DataClassification, Team


class TrainingForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("Team"))
    topic = forms.CharField(label=_("Topic"), max_length=200)
    held_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    attendees = forms.IntegerField(label=_("Attendees"), min_value=1)
    material_url = forms.URLField(label=_("Material link"), required=False, assume_scheme="https")

    def __init__(self, *args, teams: list[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        if len(teams) == 1:
            self.fields["team"].initial = teams[0].pk


class RelayForm(forms.Form):
    """A declaration a champion passes on for someone who prefers not to be named."""

    tool_name = forms.CharField(label=_("Tool"), max_length=120)
    vendor = forms.CharField(label=_("Vendor"), max_length=120, required=False)
    used_for = forms.CharField(
        label=_("What they use it for"), widget=forms.Textarea(attrs={"rows": 3})
    )
    data_classification = forms.ChoiceField(
        label=_("Most sensitive data they give it"),
        choices=DataClassification.choices,
        initial=DataClassification.INTERNAL,
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("Team"))

    def __init__(self, *args, teams: list[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams])
        if len(teams) == 1:
            self.fields["team"].initial = teams[0].pk
