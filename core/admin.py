"""The spine in the admin: the change log, follow-up work and the outbox, read-only.

Nothing here is edited by hand: a change record is append-only, and follow-ups and deliveries
change state only through core.followups and core.outbox. Ops may run a failed follow-up again
and send a failed delivery again once the cause is fixed (the mail server was down).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from . import followups, outbox
from .models import ChangeRecord, Delivery, FollowUp


class AppendOnlyAdmin:
    """Mix into a ModelAdmin (or an inline) whose rows are added, then only read.

    Audit rows and records are never changed or deleted in the admin. A row is added here only
    when `may_add` says so (the one access rule of that write, asked of its access module; the
    domain function the admin's `save_model` calls re-checks it); by default never, for rows
    that only their domain operation writes. Put it first among the bases.
    """

    def may_add(self, user) -> bool:
        """Tell whether `user` may add a row here (the hook: ask the write's access rule)."""
        return False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.may_add(request.user):
            return False
        if isinstance(self, InlineModelAdmin):
            return super().has_add_permission(request, obj)
        return super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnly(AppendOnlyAdmin, admin.ModelAdmin):
    """Rows nobody adds, changes or deletes in the admin."""


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnly):
    list_display = ["created_at", "actor", "action", "subject_type", "subject_id", "reason"]
    list_filter = ["action", "subject_type"]
    list_select_related = ["actor", "subject_type"]
    search_fields = ["action", "actor__username", "reason", "subject_id"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "actor",
        "action",
        "subject_type",
        "subject_id",
        "scope_type",
        "scope_id",
        "changes",
        "reason",
    ]
    readonly_fields = fields


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnly):
    list_display = ["created_at", "kind", "key", "status", "attempts", "done_at"]
    list_filter = ["status", "kind"]
    search_fields = ["kind", "key"]
    fields = [
        "kind",
        "key",
        "payload",
        "status",
        "attempts",
        "created_at",
        "available_at",
        "claimed_at",
        "done_at",
        "last_error",
    ]
    readonly_fields = fields
    actions = ["run_again"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.change_followup")

    @admin.action(description=gettext_lazy("Run the failed work again"), permissions=["retry"])
    def run_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        retried = followups.retry(selected)
        self.message_user(
            request,
            ngettext(
                "%(count)d follow-up will run again; %(left)d of the selection left as it was"
                " (only failed work runs again).",
                "%(count)d follow-ups will run again; %(left)d of the selection left as it was"
                " (only failed work runs again).",
                retried,
            )
            % {"count": retried, "left": len(selected) - retried},
            messages.SUCCESS if retried else messages.WARNING,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    # A participant's invitations and reminders are private (whom a reminder went to, and when,
    # tells who had not answered): listed only once failed, for Ops to re-send from the prompt
    # admin. Never the payload or the subject of those either.
    list_display = ["created_at", "kind", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "kind", "batch"]
    fields = [
        "kind",
        "channel",
        "recipient",
        "batch",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "last_error",
    ]
    readonly_fields = fields
    actions = ["send_again"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .filter(~Q(kind__in=outbox.private_kinds()) | Q(status=Delivery.Status.FAILED))
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.change_delivery")

    @admin.action(description=gettext_lazy("Send the failed emails again"), permissions=["retry"])
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        requeued = outbox.retry(selected)
        self.message_user(
            request,
            ngettext(
                "%(count)d email queued again; %(left)d of the selection left as it was (only"
                " failed emails go again; a participant's invitation is re-sent from Prompts).",
                "%(count)d emails queued again; %(left)d of the selection left as it was (only"
                " failed emails go again; a participant's invitation is re-sent from Prompts).",
                requeued,
            )
            % {"count": requeued, "left": len(selected) - requeued},
            messages.SUCCESS if requeued else messages.WARNING,
        )
