"""Incidents in the admin: read-only (reports come from the site, triage from its pages)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnly

from .models import Incident, Triage


@admin.register(Incident)
class IncidentAdmin(ReadOnly):
    list_display = ["reported_on", "kind", "severity", "status", "pilot", "tool"]
    list_filter = ["status", "kind", "severity"]
    # The reporter is not listed: a named reporter is on the incident page for Ops only.
    exclude = ["reporter"]


@admin.register(Triage)
class TriageAdmin(ReadOnly):
    list_display = ["incident", "from_status", "to_status", "actor", "created_at"]
