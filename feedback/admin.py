"""Feedback in the Ops admin: questionnaires (frozen once used), rounds, prompts, absences.

Deliberately absent: any screen listing responses or answers. Responses of anonymous pilots
carry no respondent, and no admin page may put a person next to an answer; rounds show only
their aggregated counts, prompts only whether they were sent. Not whether each one was answered:
comparing that list before and after an answer with a telling content (an exposure incident's
email to Ops, a result moving) would name who gave it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.exceptions import DomainError
from core.models import Delivery
from core.ops import is_ops
from pilots import admin as pilots_admin
from pilots.models import Pilot

from . import absences, access, invitations, questionnaires, scheduling
from .models import Absence, FeedbackRound, Prompt, Question, Questionnaire


class QuestionInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        changed = any(form.has_changed() for form in self.forms) or bool(self.deleted_forms)
        if changed and self.instance.pk:
            try:
                questionnaires.check_questions_editable(self.instance)
            except DomainError as e:
                raise forms.ValidationError(e.message, code=e.code) from e
            self._check_measured_keys()

    def _check_measured_keys(self) -> None:
        """Refuse deleting or re-keying a question that running pilots measure."""
        deleted = [f for f in self.deleted_forms if f.instance.pk is not None]
        for form in self.forms:
            if form in deleted or form.instance.pk is None or "key" not in form.changed_data:
                continue
            try:
                questionnaires.check_keys_not_measured(self.instance, [form.initial["key"]])
            except DomainError as e:
                form.add_error("key", e.message)
        try:
            # A deleted row's errors are not shown (nor counted): the refusal is the formset's.
            questionnaires.check_keys_not_measured(
                self.instance, [f.initial["key"] for f in deleted]
            )
        except DomainError as e:
            raise forms.ValidationError(e.message, code=e.code) from e


class QuestionInline(admin.StackedInline):
    model = Question
    formset = QuestionInlineFormSet
    extra = 0
    fields = [
        ("position", "key", "kind", "required"),
        "text",
        "help_text",
        ("min_value", "max_value", "step", "unit"),
        ("min_label", "max_label"),
        "choices",
        ("shown_if_key", "shown_if_value"),
        "language",
        "translations",
    ]


class QuestionnaireForm(forms.ModelForm):
    class Meta:
        model = Questionnaire
        fields = ["name", "slug"]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if self.instance.pk is None and Questionnaire.objects.filter(slug=slug).exists():
            raise forms.ValidationError(
                _("A questionnaire with this slug exists: create a new version of it instead."),
                code="slug_taken",
            )
        return slug


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    form = QuestionnaireForm
    list_display = ["name", "slug", "version", "is_current", "is_default", "round_count"]
    list_filter = ["is_current", "is_default"]
    search_fields = ["name", "slug"]
    inlines = [QuestionInline]
    actions = ["create_new_version"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(round_count=Count("rounds"))

    def get_readonly_fields(self, request: HttpRequest, obj: Questionnaire | None = None):
        # Versions and the current/default flags change only through "create a new version".
        if obj is None:
            return ["version", "is_current", "is_default", "created_at"]
        return ["slug", "version", "is_current", "is_default", "created_at"]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj=None,
    ):
        if obj is not None and request.method == "GET" and questionnaires.is_frozen(obj):
            messages.warning(request, questionnaires.frozen_message(obj))
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    @admin.display(description=gettext_lazy("rounds"), ordering="round_count")
    def round_count(self, obj: Questionnaire) -> int:
        return obj.round_count

    @admin.action(description=gettext_lazy("Create a new version of the selected questionnaires"))
    def create_new_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        for questionnaire in queryset:
            try:
                copy = questionnaires.new_version(questionnaire.pk, actor=request.user)
            except DomainError as e:
                self.message_user(request, e.message, messages.ERROR)
                continue
            self.message_user(
                request,
                _("Created version %(version)d of “%(name)s”; new rounds will use it.")
                % {"version": copy.version, "name": copy.name},
                messages.SUCCESS,
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# The pilot admin gains its feedback action here rather than in pilots/admin.py: pilots must
# not import feedback (the dependency goes feedback → pilots). pilots.admin registered first.
admin.site.unregister(Pilot)


@admin.register(Pilot)
class PilotAdmin(pilots_admin.PilotAdmin):
    actions = [*pilots_admin.PilotAdmin.actions, "open_round_now"]

    def has_ops_permission(self, request: HttpRequest) -> bool:
        return is_ops(request.user)

    @admin.action(
        description=gettext_lazy("Open the current period's round now"), permissions=["ops"]
    )
    def open_round_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Open the round the beat would open now; say why a pilot gets none."""
        titles = dict(queryset.values_list("pk", "title"))
        try:
            report = scheduling.open_rounds_now(list(titles), actor=request.user)
        except DomainError as e:
            self.message_user(request, e.message, messages.ERROR)
            return
        for round_ in report.opened:
            self.message_user(
                request,
                ngettext(
                    "%(pilot)s: the round of the period that began on %(start)s is open;"
                    " %(count)d invitation is going out.",
                    "%(pilot)s: the round of the period that began on %(start)s is open;"
                    " %(count)d invitations are going out.",
                    round_.prompt_count,
                )
                % {
                    "pilot": round_.pilot.title,
                    "start": date_format(round_.period_start),
                    "count": round_.prompt_count,
                },
                messages.SUCCESS,
            )
        for pilot_id, error in report.refused.items():
            self.message_user(
                request,
                _("%(pilot)s: no round opened. %(error)s")
                % {"pilot": titles[pilot_id], "error": error.message},
                messages.ERROR,
            )


@admin.register(FeedbackRound)
class FeedbackRoundAdmin(ReadOnlyAdmin):
    list_display = [
        "pilot",
        "period_start",
        "status",
        "anonymous",
        "opens_at",
        "closes_at",
        "invited_count",
        "response_count",
        "rate",
    ]
    list_filter = ["status", "anonymous"]
    list_select_related = ["pilot"]
    search_fields = ["pilot__title"]
    date_hierarchy = "period_start"
    # Aggregates only: no inline of prompts or responses on a round.
    fields = [
        "pilot",
        "questionnaire",
        "period_start",
        "opens_at",
        "closes_at",
        "status",
        "anonymous",
        "closed_at",
        "invited_count",
        "response_count",
        "rate",
    ]
    readonly_fields = fields
    actions = ["remind_now", "close_now"]

    @admin.display(description=gettext_lazy("response rate"))
    def rate(self, obj: FeedbackRound) -> str:
        if obj.response_rate is None:
            return "—"
        return f"{obj.response_rate:.0%}"

    def has_ops_permission(self, request: HttpRequest) -> bool:
        return is_ops(request.user)

    @admin.action(description=gettext_lazy("Send the reminders now"), permissions=["ops"])
    def remind_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Queue and send the one reminder of each unanswered invitation, before halfway."""
        for round_ in queryset.select_related("pilot").order_by("pk"):
            try:
                queued = scheduling.remind_now(round_.pk, actor=request.user)
            except DomainError as e:
                self.message_user(
                    request,
                    _("%(round)s: %(error)s") % {"round": round_, "error": e.message},
                    messages.ERROR,
                )
                continue
            self.message_user(
                request,
                ngettext(
                    "%(round)s: %(count)d reminder queued; it goes out now with a new link.",
                    "%(round)s: %(count)d reminders queued; they go out now with new links.",
                    queued,
                )
                % {"round": round_, "count": queued},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Close now"), permissions=["ops"])
    def close_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for confirmation (closing is final), then close each round as the beat does."""
        rounds = list(queryset.select_related("pilot").order_by("pk"))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Close these feedback rounds now?"),
                "opts": self.model._meta,
                "rounds": rounds,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/feedback/feedbackround/close_now.html", context)
        for round_ in rounds:
            try:
                closed = scheduling.close_round_now(round_.pk, actor=request.user)
            except DomainError as e:
                self.message_user(
                    request,
                    _("%(round)s: %(error)s") % {"round": round_, "error": e.message},
                    messages.ERROR,
                )
                continue
            self.message_user(
                request,
                _(
                    "%(round)s: closed, %(responses)d of %(invited)d answered; its guardrails"
                    " are being evaluated."
                )
                % {
                    "round": round_,
                    "responses": closed.response_count,
                    "invited": closed.invited_count,
                },
                messages.SUCCESS,
            )
        return None


class EmailFailedFilter(admin.SimpleListFilter):
    """Offer only the prompts whose latest email failed: any other state dates answers."""

    title = gettext_lazy("email")
    parameter_name = "email"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("failed", gettext_lazy("failed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failed":
            return queryset.filter(latest_email_status=Delivery.Status.FAILED)
        return queryset


def _emails_of_prompt(kinds) -> QuerySet:
    return Delivery.objects.filter(
        kind__in=kinds,
        subject_type=ContentType.objects.get_for_model(Prompt),
        subject_id=Cast(OuterRef("pk"), CharField()),
    ).order_by("-pk")


@admin.register(Prompt)
class PromptAdmin(ReadOnlyAdmin):
    # Never the token hash, never a link to a response (anonymous pilots have none to give), and
    # never `answered`: per participant, it dates each answer to the nearest look at this list.
    # The round's response count is the aggregate Ops need.
    # Nor the reminder's state: whether someone was reminded tells whether they had answered by
    # halfway through the window. The invitation's state comes from the outbox; an invitation
    # waiting while its prompt was answered stays "queued" like any other until the round
    # closes. A failed email (invitation or reminder) shows, so Ops can re-send it.
    list_display = ["participant", "round", "invitation", "invitation_sent_at", "email_failed"]
    list_filter = [EmailFailedFilter]
    list_select_related = ["participant", "round__pilot"]
    search_fields = ["participant__username", "round__pilot__title"]
    fields = ["round", "participant", "created_at", "invitation", "invitation_sent_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        invitations_ = _emails_of_prompt([invitations.INVITATION])
        latest = _emails_of_prompt(invitations.PARTICIPANT_KINDS)
        return (
            super()
            .get_queryset(request)
            .annotate(
                invitation_status=Subquery(invitations_.values("status")[:1]),
                invitation_sent=Subquery(invitations_.values("sent_at")[:1]),
                latest_email_status=Subquery(latest.values("status")[:1]),
            )
        )

    @admin.display(description=gettext_lazy("invitation"))
    def invitation(self, obj: Prompt) -> str:
        status = obj.invitation_status
        return Delivery.Status(status).label if status else "—"

    @admin.display(description=gettext_lazy("invitation sent"))
    def invitation_sent_at(self, obj: Prompt):
        return obj.invitation_sent

    @admin.display(boolean=True, description=gettext_lazy("email failed"))
    def email_failed(self, obj: Prompt) -> bool:
        return obj.latest_email_status == Delivery.Status.FAILED

    # Emails the sweep gave up on (delivery unknown) are listed under "email: failed".
    actions = ["resend_invitation"]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return access.may_resend_invitation(request.user)

    @admin.action(description=gettext_lazy("Re-send the invitation"), permissions=["resend"])
    def resend_invitation(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = refused = 0
        for prompt_id in queryset.values_list("pk", flat=True):
            try:
                scheduling.resend_invitation(prompt_id, actor=request.user)
            except DomainError:
                refused += 1
            else:
                queued += 1
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(count)d invitation queued again; it goes out with a new link.",
                    "%(count)d invitations queued again; they go out with new links.",
                    queued,
                )
                % {"count": queued},
                messages.SUCCESS,
            )
        if refused:
            # One message for every reason, naming nobody: a refusal because the prompt was
            # answered must not single out who answered.
            self.message_user(
                request,
                ngettext(
                    "%(count)d invitation not re-sent: only a failed, unanswered invitation of"
                    " an open round of an active pilot can be re-sent.",
                    "%(count)d invitations not re-sent: only a failed, unanswered invitation of"
                    " an open round of an active pilot can be re-sent.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )


class AbsenceForm(forms.ModelForm):
    """Ops record someone's absence with the participant's own rules (feedback.absences)."""

    class Meta:
        model = Absence
        fields = ["user", "starts_on", "ends_on"]

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                absences.check_period(data.get("starts_on"), data.get("ends_on"))
            except DomainError as e:
                self.add_error(e.field if e.field in self.fields else None, e.message)
        return data


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    """Absences are recorded through `absences.mark_away` (merged with touching ones), never
    edited in place: a participant cancels their own from their away page."""

    form = AbsenceForm
    list_display = ["user", "starts_on", "ends_on"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    date_hierarchy = "starts_on"
    raw_id_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Absence, form, change: bool) -> None:
        try:
            saved = absences.mark_away(
                obj.user, starts_on=obj.starts_on, ends_on=obj.ends_on, actor=request.user
            )
        except DomainError as e:
            raise PermissionDenied(e.message) from e
        obj.pk = saved.pk
        obj.starts_on, obj.ends_on = saved.starts_on, saved.ends_on
