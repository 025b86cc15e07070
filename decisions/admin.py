"""Guardrail breaches in the admin: an append-only list that Ops resolve with a note."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from core.models import Delivery
from pilots import access, breach_text
from pilots.models import GuardrailBreach

from . import guardrails


def _count(queryset: QuerySet) -> QuerySet:
    return queryset.order_by().values("kind").annotate(n=Count("pk")).values("n")


class OpenFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin) -> list:
        return [("yes", gettext_lazy("Open")), ("no", gettext_lazy("Resolved"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(GuardrailBreach)
class GuardrailBreachAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "pilot",
        "rule_name",
        "observed_value",
        "round",
        "trigger",
        "action_taken",
        "is_open",
        "resolved_by",
        "ops_alerted",
    ]
    list_filter = [OpenFilter, "trigger", "action_taken"]
    list_select_related = ["pilot", "guardrail", "round", "resolved_by"]
    # Not the guardrail's rule, nor the stored words: a search would find which rule a withheld
    # breach hides.
    search_fields = ["pilot__title"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "rule_name",
        "pilot",
        "round",
        "observed_value",
        "trigger",
        "exposure_reports",
        "action_taken",
        "text",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
        "ops_alerted",
    ]
    fields = readonly_fields
    actions = ["resolve"]

    @admin.display(description=gettext_lazy("what broke"))
    def text(self, obj: GuardrailBreach) -> str:
        return breach_text.describe(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The alert's deliveries (core.outbox): how many went out, of how many.
        alerts = Delivery.objects.filter(
            kind=guardrails.BREACH_ALERT, subject_id=Cast(OuterRef("pk"), CharField())
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                alerts=Coalesce(Subquery(_count(alerts)), 0),
                alerts_sent=Coalesce(Subquery(_count(alerts.filter(status="sent"))), 0),
            )
        )

    @admin.display(description=gettext_lazy("Ops alerted"))
    def ops_alerted(self, obj: GuardrailBreach) -> str:
        return _("%(sent)d of %(all)d emails sent") % {"sent": obj.alerts_sent, "all": obj.alerts}

    @admin.display(description=gettext_lazy("guardrail"))
    def rule_name(self, obj: GuardrailBreach) -> str:
        return obj.rule_name

    @admin.display(boolean=True, description=gettext_lazy("open"))
    def is_open(self, obj: GuardrailBreach) -> bool:
        return obj.resolved_at is None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing is allowed; every field is read-only and changes go through `resolve`.
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not access.may_resolve_breach(request.user):
            actions.pop("resolve", None)
        return actions

    def get_urls(self) -> list:
        # Linked from the pilot's page, for Ops: resolve one breach, then back to the pilot.
        resolve_one = self.admin_site.admin_view(self.resolve_one_view)
        return [
            path(
                "<int:breach_id>/resolve/",
                resolve_one,
                name="pilots_guardrailbreach_resolve",
            ),
            *super().get_urls(),
        ]

    def resolve_one_view(self, request: HttpRequest, breach_id: int) -> HttpResponse:
        """Resolve one breach with a note; on success go back to its pilot's page."""
        if not access.may_resolve_breach(request.user):
            raise PermissionDenied
        breach = get_object_or_404(
            GuardrailBreach.objects.select_related("pilot", "guardrail", "round"), pk=breach_id
        )
        pilot_page = reverse("pilot_detail", args=[breach.pilot_id])
        note = request.POST.get("note", "")
        error = ""
        if request.method == "POST":
            try:
                guardrails.resolve_breach(breach.pk, actor=request.user, note=note)
            except DomainError as e:
                error = e.message
                breach.refresh_from_db()
            else:
                messages.success(
                    request,
                    _("The breach of “%(guardrail)s” is resolved.")
                    % {"guardrail": breach.rule_name},
                )
                return redirect(pilot_page)
        return self._resolve_page(
            request, [breach], note=note, error=error, single=True, cancel_url=pilot_page
        )

    def _resolve_page(
        self,
        request: HttpRequest,
        breaches: list[GuardrailBreach],
        *,
        note: str,
        error: str,
        single: bool,
        cancel_url: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolve guardrail breaches"),
            "opts": self.model._meta,
            "breaches": breaches,
            "any_open": any(b.resolved_at is None for b in breaches),
            "note": note,
            "error": error,
            "single": single,
            "cancel_url": cancel_url,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/pilots/guardrailbreach/resolve.html", context)

    @admin.action(description=gettext_lazy("Resolve with a note"))
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for the note on an intermediate page; on confirmation resolve each breach."""
        note = request.POST.get("note", "")
        error = ""
        try:
            # Who may resolve, before any page is shown (the note is checked on confirmation).
            guardrails.check_resolution(actor=request.user, note="-")
        except PermissionRefused as e:
            self.message_user(request, e.message, messages.ERROR)
            return None
        breaches = list(queryset.select_related("pilot", "guardrail", "round").order_by("pk"))
        if request.POST.get("confirm") == "yes":
            try:
                guardrails.check_resolution(actor=request.user, note=note)
            except ValidationFailed as e:
                error = e.message
            else:
                for breach in breaches:
                    try:
                        guardrails.resolve_breach(breach.pk, actor=request.user, note=note)
                    except DomainError as e:
                        self.message_user(
                            request,
                            _("%(breach)s: %(error)s") % {"breach": breach, "error": e.message},
                            messages.ERROR,
                        )
                    else:
                        self.message_user(
                            request,
                            _("%(breach)s: resolved.") % {"breach": breach},
                            messages.SUCCESS,
                        )
                return None
        return self._resolve_page(
            request,
            breaches,
            note=note,
            error=error,
            single=False,
            cancel_url=reverse("admin:pilots_guardrailbreach_changelist"),
        )
