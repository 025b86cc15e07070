"""The pilot page's "start from what worked" actions: clone it (leads), save it as a template
(Ops). A tag, so the page's view (in decisions) needs no change to offer them."""

from __future__ import annotations

from django import template

from pilots import access

register = template.Library()


@register.inclusion_tag("pilots/_start_from.html", takes_context=True)
def start_from_pilot(context, pilot) -> dict:
    user = context["request"].user
    # The navigation already asked whether the user leads a team (pilots.views.nav).
    leads = context.get("nav_leads_team")
    return {
        "pilot": pilot,
        "may_clone": access.may_clone(
            user,
            pilot,
            leads_a_team=bool(leads) if leads is not None else None,
            # The pilot page's own answer to "does this user lead it" (decisions.views).
            leads_it=context.get("leads_it"),
        ),
        # Ops save templates from the admin's side of the site: only staff see the button (as
        # the navigation shows the admin link), so other readers pay no query for it.
        "may_save_template": user.is_staff and access.may_manage_templates(user),
        "csrf_token": context.get("csrf_token"),
    }
