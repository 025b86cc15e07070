"""The admin of approved standards: the scope a promotion asks for, and re-certification.

The pilot admin's stage page asks for the scope of a promotion to approved standard with the
conclusion (`scope_fields`, `scope_from_post`); `ApprovedUseAdmin` lists the standards' scopes,
read-only, and re-certifies them through `pilots.approvals.recertify` on an intermediate page.
"""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.ops import is_ops

from . import approvals
from .choices import DataClassification
from .models import ApprovedUse, Pilot, Team


def _date(value: str) -> datetime.date | None:
    try:
        return parse_date((value or "").strip())
    except ValueError:
        return None


def scope_fields(request: HttpRequest, pilot: Pilot) -> dict:
    """What the stage page shows to scope a standard (what Ops wrote, shown again)."""
    post = request.POST
    pk = pilot.pk
    return {
        "use": post.get(f"use_{pk}", ""),
        "max_data_classification": post.get(
            f"max_data_classification_{pk}", pilot.data_classification
        ),
        "teams": [t for t in post.getlist(f"teams_{pk}") if t],
        "recertify_on": post.get(f"recertify_on_{pk}", ""),
        "classifications": [
            (value, label)
            for value, label in DataClassification.choices
            if DataClassification.rank(value)
            <= DataClassification.rank(pilot.tool.max_data_classification)
        ],
    }


def scope_choices() -> dict:
    """The teams the stage page offers (every team: none chosen means all)."""
    return {"approval_teams": list(Team.objects.order_by("name").values_list("pk", "name"))}


def scope_from_post(request: HttpRequest, pilot_pk: int) -> approvals.Scope | None:
    """The scope Ops posted for a pilot, or None when the page asked for none."""
    post = request.POST
    if f"use_{pilot_pk}" not in post:
        return None
    teams = []
    for value in post.getlist(f"teams_{pilot_pk}"):
        try:
            teams.append(int(value))
        except ValueError:
            teams.append(-1)  # refused by approvals.clean as an unknown team
    return approvals.Scope.build(
        use=post.get(f"use_{pilot_pk}", ""),
        max_data_classification=post.get(f"max_data_classification_{pilot_pk}", ""),
        recertify_on=_date(post.get(f"recertify_on_{pilot_pk}", "")),
        teams=teams,
    )


@admin.register(ApprovedUse)
class ApprovedUseAdmin(admin.ModelAdmin):
    """What each standard is approved for: written by the promotion, re-certified by Ops."""

    list_display = [
        "pilot",
        "use",
        "max_data_classification",
        "teams_list",
        "recertify_on",
        "recertified_at",
    ]
    list_filter = ["max_data_classification", "pilot__tool"]
    list_select_related = ["pilot", "pilot__tool"]
    search_fields = ["pilot__title", "use", "pilot__tool__name"]
    actions = ["recertify"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("teams")

    @admin.display(description=gettext_lazy("teams"))
    def teams_list(self, obj: ApprovedUse) -> str:
        names = [t.name for t in obj.teams.all()]
        return ", ".join(names) if names else _("every team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not is_ops(request.user):
            actions.pop("recertify", None)
        return actions

    @admin.action(description=gettext_lazy("Re-certify until a new date"))
    def recertify(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for the new date and a reason; on confirmation, re-certify each standard."""
        if not is_ops(request.user):
            self.message_user(request, _("Only Ops can re-certify a standard."), messages.ERROR)
            return None
        uses = list(queryset.select_related("pilot").order_by("pk"))
        error = ""
        if request.POST.get("confirm") == "yes":
            refused = []
            for approved in uses:
                try:
                    approvals.recertify(
                        approved.pk,
                        actor=request.user,
                        recertify_on=_date(request.POST.get("recertify_on", "")),
                        reason=request.POST.get("reason", ""),
                    )
                except DomainError as e:
                    refused.append(approved)
                    error = e.message
                else:
                    self.message_user(
                        request,
                        _("%(pilot)s: re-certified until %(date)s.")
                        % {"pilot": approved.pilot, "date": request.POST.get("recertify_on")},
                        messages.SUCCESS,
                    )
            if not refused:
                return None
            uses = refused
        context = {
            **self.admin_site.each_context(request),
            "title": _("Re-certify approved standards"),
            "opts": self.model._meta,
            "uses": uses,
            "error": error,
            "recertify_on": request.POST.get("recertify_on", ""),
            "reason": request.POST.get("reason", ""),
            "today": timezone.localdate(),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/pilots/approveduse/recertify.html", context)
