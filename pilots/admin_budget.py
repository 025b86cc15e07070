"""The budget guardrail in the pilot admin: Ops switch a pilot between flag and pause.

Adapters over `pilots.budget.set_action` (Ops only, a change record, a pause at once when a
pilot set to pause is over its cap). A draft's choice is the lead's, on its form.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError

from . import budget
from .choices import BudgetAction


def _set(modeladmin, request: HttpRequest, queryset: QuerySet, action: str) -> None:
    for pilot in queryset.order_by("pk"):
        try:
            _pilot, paused = budget.set_action(pilot.pk, actor=request.user, action=action)
        except DomainError as e:
            modeladmin.message_user(request, f"{pilot.title}: {e.message}", messages.ERROR)
            continue
        if paused is not None:
            message = _("%(title)s: over its cap, paused now.")
        else:
            message = _("%(title)s: budget guardrail set to “%(action)s”.")
        modeladmin.message_user(
            request,
            message % {"title": pilot.title, "action": BudgetAction(action).label},
            messages.SUCCESS,
        )


@admin.action(
    description=gettext_lazy("Budget guardrail: pause when over the cap"), permissions=["budget"]
)
def pause_over_budget(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    _set(modeladmin, request, queryset, BudgetAction.PAUSE)


@admin.action(
    description=gettext_lazy("Budget guardrail: only flag when over the cap"),
    permissions=["budget"],
)
def flag_over_budget(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    _set(modeladmin, request, queryset, BudgetAction.FLAG)
