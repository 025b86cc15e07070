"""Forms of the decisions pages (input only; the queries are in the domain modules)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pilots.models import AITool, Conclusion, Team

from .learnings import Filters


class LearningsFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    tool = forms.ModelChoiceField(
        queryset=AITool.objects.order_by("name"),
        required=False,
        label=_("Tool"),
        empty_label=_("All tools"),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label=_("Team"),
        empty_label=_("All teams"),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("All outcomes")), *Conclusion.Outcome.choices],
    )
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, years: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("All years")), *((y, str(y)) for y in years)]

    def filters(self) -> Filters:
        """The filters as typed; an invalid value (a tool since deleted) filters nothing."""
        if not self.is_valid():
            return Filters()
        data = self.cleaned_data
        return Filters(
            text=data["q"],
            tool=data["tool"].pk if data["tool"] else None,
            team=data["team"].pk if data["team"] else None,
            outcome=data["outcome"],
            year=data["year"],
        )
