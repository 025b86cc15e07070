"""The pilot page's "start from what worked" actions: clone it (leads), save it as a template
(Ops). A tag, so the page's view (in decisions) needs no change to offer them."""

from __future__ import annotations

from django import template

from pilots import access

register = template.Library()


@register.inclusion_tag("pilots/_start_from.html", takes_context=True)
def start_from_pilot(context, pilot) -> dict:
    user = context["request"].user
    return {
        "pilot": pilot,
        "may_clone": access.may_clone(user, pilot),
        "may_save_template": access.may_manage_templates(user),
        "csrf_token": context.get("csrf_token"),
    }
