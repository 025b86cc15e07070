"""Helpers of the admin tests: the pilot change form as a browser posts it back."""

from __future__ import annotations

from django.urls import reverse

from pilots.models import Pilot


def change_form_data(client, pilot: Pilot) -> dict:
    """The pilot change form's data as the browser would post it back unchanged.

    Only the management forms of the inlines: their rows are added by each test.
    """
    response = client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk]))
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None:
            data[name] = value.pk if hasattr(value, "pk") else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
    return data
