"""The open incidents block of a champion's home (governance sits below incidents, so the
home's template asks for it here: one query whatever the number of incidents)."""

from __future__ import annotations

from django import template

from incidents import reporting

register = template.Library()


@register.inclusion_tag("incidents/_champion_incidents.html")
def open_incidents_for(teams) -> dict:
    return {"incidents": reporting.open_for_teams(teams)}
