"""Admin for tool declarations: Ops read them and turn each one into a tool or a draft pilot."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.exceptions import DomainError

from . import declarations
from .models import ToolDeclaration


@admin.register(ToolDeclaration)
class ToolDeclarationAdmin(admin.ModelAdmin):
    list_display = (
        "tool_name",
        "vendor",
        "declared_by",
        "team",
        "data_classification",
        "status",
        "created_at",
    )
    list_filter = ("status", "data_classification", "team")
    search_fields = ("tool_name", "vendor", "used_for")
    list_select_related = ("declared_by", "team")
    readonly_fields = (
        "declared_by",
        "team",
        "tool_name",
        "vendor",
        "used_for",
        "data_classification",
        "created_at",
        "status",
        "tool",
        "pilot",
        "handled_by",
        "handled_at",
        "ops_note",
    )
    actions = ("register_as_tool", "turn_into_draft_pilot", "dismiss_with_note")

    def has_add_permission(self, request) -> bool:
        # Declarations come from the people who use the tools, through the web form.
        return False

    def get_queryset(self, request):
        # Anonymous declarations are never listed one by one (their team and day would point
        # at someone): Ops see them only as counts above the threshold (/tools/declarations/).
        return super().get_queryset(request).named()

    @admin.action(description=gettext_lazy("Turn into a registered AI tool"))
    def register_as_tool(self, request, queryset) -> None:
        for declaration in queryset:
            try:
                tool = declarations.register_tool(declaration.pk, actor=request.user)
            except DomainError as e:
                self.message_user(request, e.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(declaration)s: registered as the tool %(tool)s.")
                    % {"declaration": declaration.tool_name, "tool": tool.name},
                    messages.SUCCESS,
                )

    @admin.action(description=gettext_lazy("Turn into a draft pilot for the declaring team"))
    def turn_into_draft_pilot(self, request, queryset) -> None:
        for declaration in queryset:
            try:
                pilot = declarations.turn_into_pilot(declaration.pk, actor=request.user)
            except DomainError as e:
                self.message_user(request, e.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(declaration)s: draft pilot “%(pilot)s” opened for %(team)s.")
                    % {
                        "declaration": declaration.tool_name,
                        "pilot": pilot.title,
                        "team": pilot.team.name,
                    },
                    messages.SUCCESS,
                )

    @admin.action(description=gettext_lazy("Dismiss with a note to the person"))
    def dismiss_with_note(self, request, queryset) -> TemplateResponse | None:
        """Ask for the note on an intermediate page; on confirmation dismiss each declaration."""
        chosen = list(queryset.select_related("declared_by", "team").order_by("pk"))
        note = request.POST.get("ops_note", "")
        error = ""
        if request.POST.get("confirm") == "yes":
            done = 0
            for declaration in chosen:
                try:
                    declarations.dismiss(declaration.pk, actor=request.user, note=note)
                except DomainError as e:
                    if e.code == "note_required":
                        error = e.message
                        break
                    self.message_user(
                        request,
                        _("%(declaration)s: %(error)s")
                        % {"declaration": declaration.tool_name, "error": e.message},
                        messages.ERROR,
                    )
                else:
                    done += 1
            if not error:
                if done:
                    self.message_user(
                        request,
                        ngettext(
                            "%(count)d declaration dismissed; the person sees your note.",
                            "%(count)d declarations dismissed; each person sees your note.",
                            done,
                        )
                        % {"count": done},
                        messages.SUCCESS,
                    )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dismiss tool declarations"),
            "opts": self.model._meta,
            "declarations": chosen,
            "ops_note": note,
            "error": error,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/pilots/tooldeclaration/dismiss.html", context)
