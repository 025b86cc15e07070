"""The watch button of a pilot page (one query: does this person watch it)."""

from __future__ import annotations

from django import template

from notifications import watching as watches

register = template.Library()


@register.inclusion_tag("notifications/_watch.html", takes_context=True)
def watch_button(context, pilot) -> dict:
    request = context["request"]
    return {
        "pilot": pilot,
        "watching": watches.is_watching(pilot, request.user),
        "csrf_token": context.get("csrf_token"),
    }
