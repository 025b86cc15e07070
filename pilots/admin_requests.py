"""The admin action that declines leads' requests for a decision, with a reply.

Ops decide a request with a stage action on the pilot (the move answers it); when the answer is
"not now", they decline it here: an intermediate page asks for the reply, and
`pilots.decision_requests.decline` records it and has the lead told.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.ops import is_ops

from . import decision_requests


@admin.action(description=gettext_lazy("Decline with a reply (the pilot stays where it is)"))
def decline(modeladmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """Ask for the reply; on confirmation, decline each open request and report it."""
    if not is_ops(request.user):
        modeladmin.message_user(
            request, _("Only Ops can answer a request for a decision."), messages.ERROR
        )
        return None
    found = list(queryset.select_related("pilot", "requested_by").order_by("pk"))
    error = ""
    if request.POST.get("confirm") == "yes":
        refused = []
        for item in found:
            try:
                decision_requests.decline(
                    item.pk, actor=request.user, reply=request.POST.get("reply", "")
                )
            except DomainError as e:
                refused.append(item)
                error = e.message
            else:
                modeladmin.message_user(
                    request,
                    _("%(pilot)s: request declined; the lead is told.") % {"pilot": item.pilot},
                    messages.SUCCESS,
                )
        if not refused:
            return None
        found = refused
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Decline requests for a decision"),
        "opts": modeladmin.model._meta,
        "requests": found,
        "error": error,
        "reply": request.POST.get("reply", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/pilots/decisionrequest/decline.html", context)
