"""Admin for tool declarations: Ops read them and turn each one into a tool or a draft pilot."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import declarations
from .exceptions import DomainError
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
    )
    actions = ("register_as_tool", "turn_into_draft_pilot")

    def has_add_permission(self, request) -> bool:
        # Declarations come from the people who use the tools, through the web form.
        return False

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
