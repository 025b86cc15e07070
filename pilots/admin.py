from . import admin_declarations  # noqa: F401, I001  (registers its ModelAdmin)
from . import admin_approvals  # (registers its ModelAdmin; the scope of a standard)
from . import admin_requests
from . import admin_budget


# The Ops admin: registry, pilots and their stage moves. Stage fields are read-only; stages
# move only through the actions below, which show the gate results on an intermediate page,
# ask for a rationale and call `pilots.lifecycle.move`.
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import AppendOnlyAdmin
from core.exceptions import DomainError
from core.ops import is_ops

from . import (
    access,
    admin_templates,
    conclusions,
    lifecycle,
    proposals,
    registry,
    reviews,
    tools,
)
from .admin_measures import DraftOnlyInline, GuardrailInline, SuccessMetricInline
from .models import (
    AITool,
    Conclusion,
    DecisionRequest,
    Membership,
    RiskRule,
    Participation,
    Pilot,
    Review,
    Stage,
    StageChange,
    Team,
)

# The admin is where Ops work: it carries the product's name, not Django's.
admin.site.site_header = gettext_lazy("AI Pilot Tracker")
admin.site.site_title = gettext_lazy("AI Pilot Tracker")
admin.site.index_title = gettext_lazy("AI Pilot Tracker administration")

# The stage actions Ops run from the pilot list, in the order the list shows them.
STAGE_ACTIONS = (
    lifecycle.Action.APPROVE,
    lifecycle.Action.SEND_BACK,
    lifecycle.Action.REJECT,
    lifecycle.Action.PROMOTE,
    lifecycle.Action.PAUSE,
    lifecycle.Action.RESUME,
    lifecycle.Action.STOP,
    lifecycle.Action.RETIRE,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(AITool)
class AIToolAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "vendor",
        "approval_status",
        "max_data_classification",
        "transparency_checked_on",
    ]
    list_filter = ["approval_status", "max_data_classification", "trains_on_customer_data"]
    search_fields = ["name", "vendor", "notes"]
    fieldsets = [
        (
            None,
            {"fields": ["name", "vendor", "approval_status", "max_data_classification", "notes"]},
        ),
        (
            gettext_lazy("Transparency and data ownership"),
            {
                "description": gettext_lazy(
                    "Required before the tool can be approved (the model version only where "
                    "the vendor states it). Everyone sees these on the tool's page."
                ),
                "fields": [
                    ("model_name", "model_version"),
                    "data_processed_in",
                    "data_stored_in",
                    "vendor_retention",
                    "trains_on_customer_data",
                    "output_ownership",
                    "model_card_url",
                    "dpa_url",
                    "security_docs_url",
                    "transparency_checked_on",
                ],
            },
        ),
        (gettext_lazy("Cost"), {"fields": ["cost_model", "cost_amount"]}),
    ]

    def save_model(self, request: HttpRequest, obj: AITool, form, change: bool) -> None:
        # The admin is one more adapter: the same write (and change record) as the API.
        fields = {name: getattr(obj, name) for name in tools.TOOL_FIELDS}
        saved = tools.save_tool(obj.pk if change else None, actor=request.user, fields=fields)
        obj.pk = saved.pk


@admin.register(RiskRule)
class RiskRuleAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """The EU AI Act mapping of the risk questionnaire: shipped by migration, read by Ops."""

    list_display = ["article", "answer_en", "category", "question"]
    list_filter = ["category", "question"]
    search_fields = ["key", "answer_en", "answer_fr", "article", "explanation_en"]
    ordering = ["question", "position"]


class ParticipationInline(DraftOnlyInline, admin.TabularInline):
    """The people of a draft: who, only (pilots.proposals writes their rows)."""

    model = Participation
    extra = 0
    fields = ["user"]
    raw_id_fields = ["user"]


class ReviewInline(AppendOnlyAdmin, admin.TabularInline):
    """Reviews as recorded, read-only: a new review is added from the review admin."""

    model = Review
    extra = 0
    can_delete = False
    fields = ["kind", "outcome", "reviewer", "reviewed_on", "notes"]
    readonly_fields = fields
    ordering = ["-reviewed_on", "-pk"]


class StageChangeInline(AppendOnlyAdmin, admin.TabularInline):
    """The stage history: read-only, as every audit row."""

    model = StageChange
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_stage", "to_stage", "actor", "rationale", "overridden"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = gettext_lazy("stage history")


def _rows(formset, names, keep=lambda instance: True) -> list[dict]:
    """The rows an inline formset holds after its validation, deleted and blank ones left out."""
    if formset is None:
        return []
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        if form.instance.pk is not None and not keep(form.instance):
            continue
        rows.append({name: data[name] for name in names if name in data})
    return rows


def _stage_action(action: str):
    def run(
        modeladmin: "PilotAdmin", request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return modeladmin.run_stage_action(request, queryset, action)

    run.__name__ = action
    return admin.action(description=lifecycle.ACTION_LABELS[action])(run)


@admin.register(Pilot)
class PilotAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "team", "tool", "risk_level", "lead", "days_in_stage"]
    list_filter = ["stage", "team", "tool", "risk_level"]
    list_select_related = ["team", "tool", "lead"]
    search_fields = [
        "title",
        "problem",
        "team__name",
        "tool__name",
        "lead__username",
        "lead__last_name",
    ]
    raw_id_fields = ["lead"]
    readonly_fields = ["stage", "paused_from", "stage_changed_at", "proposed_by", "review_link"]
    inlines = [
        SuccessMetricInline,
        GuardrailInline,
        ParticipationInline,
        ReviewInline,
        StageChangeInline,
    ]
    actions = [
        *(_stage_action(a) for a in STAGE_ACTIONS),
        admin_templates.save_as_template,
        admin_budget.pause_over_budget,
        admin_budget.flag_over_budget,
    ]
    # A proposed pilot's page lists pilots on its tool with a similar problem.
    change_form_template = "admin/pilots/pilot/change_form.html"
    fieldsets = [
        (None, {"fields": ["title", "team", "lead", "tool", "risk_level"]}),
        (
            gettext_lazy("Stage"),
            {
                "fields": [
                    "stage",
                    "paused_from",
                    "stage_changed_at",
                    "proposed_by",
                    "review_link",
                ]
            },
        ),
        (
            gettext_lazy("Problem and hypothesis"),
            {
                "fields": [
                    "problem",
                    "hypothesis_intervention",
                    "hypothesis_outcome",
                    "hypothesis_who",
                    "hypothesis_signal",
                ]
            },
        ),
        (gettext_lazy("Data"), {"fields": ["data_classification", "data_description"]}),
        (gettext_lazy("Cost"), {"fields": ["budget_cap", "budget_action"]}),
        (
            gettext_lazy("Plan and feedback"),
            {
                "fields": [
                    "planned_start",
                    "planned_end",
                    "anonymous_feedback",
                    "cadence",
                    "cadence_weekday",
                    "response_window_days",
                ]
            },
        ),
    ]

    # Editing goes through pilots.proposals: a draft only, its rules (participants from the
    # team, unique names, asked questions), and a change record. Outside draft the form is
    # read-only; a pilot then changes by its own operations (stage actions, reviews, the
    # measures' repairs by Ops), each with its rule and its record.
    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is None:
            return super().has_change_permission(request)
        if obj.stage != Stage.DRAFT or not access.may_correct(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and access.may_correct(request.user)

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        if object_id is not None:
            extra_context = {
                **(extra_context or {}),
                **admin_templates.similar_context(request, object_id),
            }
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as e:
            # Raised by the domain inside the admin's transaction: nothing was written.
            self.message_user(request, e.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Pilot, form, change: bool) -> None:
        """Save nothing yet: `save_related` saves the pilot with its rows through proposals."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        by_prefix = {formset.prefix: formset for formset in formsets}
        data = form.cleaned_data
        proposal = proposals.Proposal(
            fields={name: data[name] for name in proposals.PILOT_FIELDS if name in data},
            metrics=_rows(by_prefix.get("metrics"), proposals.METRIC_FIELDS),
            # A guardrail Ops disabled stays as it is, with its reason (as in a lead's edit).
            guardrails=_rows(
                by_prefix.get("guardrails"),
                proposals.GUARDRAIL_FIELDS,
                keep=lambda guardrail: guardrail.disabled_at is None,
            ),
            participants=[row["user"] for row in _rows(by_prefix.get("participations"), ["user"])],
        )
        if change:
            proposals.correct_draft(
                form.instance.pk,
                actor=request.user,
                proposal=proposal,
                team=data.get("team"),
                lead=data.get("lead"),
            )
        else:
            pilot = proposals.create_draft(
                actor=request.user, team=data["team"], lead=data.get("lead"), proposal=proposal
            )
            form.instance.pk = pilot.pk
        for formset in formsets:
            # The admin's own change message reads what the formsets saved: nothing, here.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.display(description=gettext_lazy("days in stage"), ordering="stage_changed_at")
    def days_in_stage(self, obj: Pilot) -> int:
        return obj.days_in_stage

    @admin.display(description=gettext_lazy("reviews"))
    def review_link(self, obj: Pilot) -> str:
        if obj.pk is None:
            return "-"
        url = f"{reverse('admin:pilots_review_add')}?{urlencode({'pilot': obj.pk})}"
        return format_html('<a href="{}">{}</a>', url, _("Record a security or legal review"))

    def has_budget_permission(self, request: HttpRequest) -> bool:
        return access.may_set_budget_action(request.user)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not is_ops(request.user):
            for action in STAGE_ACTIONS:
                actions.pop(action, None)
        if not access.may_manage_templates(request.user):
            actions.pop("save_as_template", None)
        return actions

    def run_stage_action(
        self, request: HttpRequest, queryset: QuerySet, action: str
    ) -> HttpResponse | None:
        """Show the gates and ask for a rationale; on confirmation, move each pilot.

        A refused move keeps the Ops on this page, with the error next to the pilot and the
        rationale they wrote; the pilots that did move are reported as messages.
        """
        if not is_ops(request.user):
            self.message_user(request, _("Only Ops can move pilots."), messages.ERROR)
            return None
        pilots = list(queryset.select_related("team", "tool", "lead").order_by("pk"))
        errors: dict[int, str] = {}
        if request.POST.get("confirm") == "yes":
            errors = self._move_each(request, pilots, action)
            if not errors:
                return None
            # Shown again as they are now: a refusal may be "the stage changed meanwhile".
            pilots = list(
                queryset.filter(pk__in=errors).select_related("team", "tool", "lead").order_by("pk")
            )
        return self._stage_action_page(request, pilots, action, errors)

    def _stage_action_page(
        self, request: HttpRequest, pilots: list[Pilot], action: str, errors: dict[int, str]
    ) -> TemplateResponse:
        proposals = [p for p in pilots if p.stage == Stage.PROPOSED]
        # What Ops approve: the whole proposal, loaded for all selected pilots at once.
        prefetch_related_objects(
            proposals,
            "metrics",
            "guardrails",
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("user").order_by(
                    "user__first_name", "user__last_name", "user__username"
                ),
            ),
            Prefetch("reviews", queryset=Review.objects.select_related("reviewer")),
        )
        proposer_ids = lifecycle.proposers_of(pilots)
        rows = []
        for pilot in pilots:
            row = {
                "pilot": pilot,
                "gates": [],
                "problem": "",
                "error": errors.get(pilot.pk, ""),
                "has_gate": False,
                "is_proposal": pilot.stage == Stage.PROPOSED,
                "tool_fits": registry.fits_ceiling(pilot.tool, pilot.data_classification),
                "concludes": False,
                # What Ops wrote, shown again when a move was refused.
                "outcome": request.POST.get(f"outcome_{pilot.pk}", ""),
                "takeaways": request.POST.get(f"takeaways_{pilot.pk}", ""),
                "recommendations": request.POST.getlist(f"recommendations_{pilot.pk}"),
            }
            try:
                transition = lifecycle.check_move(
                    pilot, action, actor=request.user, proposer_ids=proposer_ids[pilot.pk]
                )
            except DomainError as e:
                row["problem"] = e.message
            else:
                gate = lifecycle.gate_of(pilot, transition)
                row["has_gate"] = gate is not None
                row["gates"] = lifecycle.evaluate_gates(pilot, gate)
                row["concludes"] = transition.concludes
                if transition.concludes:
                    row["outcomes"] = [
                        (o, Conclusion.Outcome(o).label)
                        for o in conclusions.OUTCOMES_BY_TARGET[transition.target]
                    ]
                if transition.target == Stage.APPROVED:
                    # A standard's scope, asked with its conclusion (pilots.approvals).
                    row["approval"] = admin_approvals.scope_fields(request, pilot)
            rows.append(row)
        movable = [row for row in rows if not row["problem"]]
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: check the gates") % {"action": lifecycle.ACTION_LABELS[action]},
            "opts": self.model._meta,
            "action": action,
            "action_label": lifecycle.ACTION_LABELS[action],
            "rows": rows,
            "can_move_any": bool(movable),
            "recommendation_choices": Conclusion.Recommendation.choices,
            **(admin_approvals.scope_choices() if any("approval" in r for r in rows) else {}),
            "offers_override": any(row["has_gate"] for row in movable),
            "refused": len(errors),
            "rationale": request.POST.get("rationale", ""),
            "override": request.POST.get("override") == "on",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/pilots/pilot/stage_action.html", context)

    def _move_each(self, request: HttpRequest, pilots: list[Pilot], action: str) -> dict[int, str]:
        """Move each pilot; report each move made; return the refusals by pilot id."""
        rationale = request.POST.get("rationale", "")
        override = request.POST.get("override") == "on"
        errors = {}
        for pilot in pilots:
            # The stage the Ops saw on the intermediate page; a change since then is refused.
            expected = request.POST.get(f"expected_stage_{pilot.pk}", "")
            # Asked for on the page when the move concludes the pilot (lifecycle refuses a
            # concluding move without it, and a conclusion on any other move).
            findings = None
            if f"outcome_{pilot.pk}" in request.POST:
                findings = conclusions.Findings.build(
                    outcome=request.POST.get(f"outcome_{pilot.pk}", ""),
                    takeaways=request.POST.get(f"takeaways_{pilot.pk}", ""),
                    recommendations=request.POST.getlist(f"recommendations_{pilot.pk}"),
                    approval=admin_approvals.scope_from_post(request, pilot.pk),
                )
            try:
                change = lifecycle.move(
                    pilot.pk,
                    action,
                    actor=request.user,
                    expected_stage=expected,
                    rationale=rationale,
                    override=override,
                    conclusion=findings,
                )
            except DomainError as e:
                errors[pilot.pk] = e.message
            else:
                self.message_user(
                    request,
                    _("%(pilot)s: %(from)s → %(to)s.")
                    % {
                        "pilot": pilot,
                        "from": change.get_from_stage_display(),
                        "to": change.get_to_stage_display(),
                    },
                    messages.SUCCESS,
                )
        return errors


class ReviewForm(forms.ModelForm):
    """Record a review: the reviewer is whoever signs in; the domain's rules are field errors."""

    actor: AbstractBaseUser | None = None  # set per request by ReviewAdmin.get_form

    class Meta:
        model = Review
        fields = ["pilot", "kind", "reviewed_on", "outcome", "notes"]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            reviews.validate_review_input(
                kind=data["kind"],
                outcome=data["outcome"],
                notes=data.get("notes", ""),
                reviewed_on=data["reviewed_on"],
            )
            reviews.check_reviewer(data["pilot"], self.actor)
        except DomainError as e:
            self.add_error(e.field if e.field in self.fields else None, e.message)
        return data


@admin.register(Review)
class ReviewAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Reviews are recorded by Ops through `reviews.record_review`, then never changed."""

    form = ReviewForm
    list_display = ["pilot", "kind", "outcome", "reviewer", "reviewed_on"]
    list_filter = ["kind", "outcome"]
    list_select_related = ["pilot", "reviewer"]
    search_fields = ["pilot__title", "notes"]
    raw_id_fields = ["pilot"]

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None:
            return ["pilot", "kind", "outcome", "reviewer", "reviewed_on", "notes"]
        return []

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None:
            return self.get_readonly_fields(request, obj)
        return ["pilot", "kind", "reviewed_on", "outcome", "notes"]

    def may_add(self, user) -> bool:
        return is_ops(user)

    def save_model(self, request: HttpRequest, obj: Review, form, change: bool) -> None:
        try:
            saved = reviews.record_review(
                obj.pilot_id,
                actor=request.user,
                kind=obj.kind,
                outcome=obj.outcome,
                notes=obj.notes,
                reviewed_on=obj.reviewed_on,
            )
        except DomainError as e:
            # Only a change between the form's check and the locked re-check lands here (the
            # pilot was submitted by this user meanwhile): nothing was written.
            raise PermissionDenied(e.message) from e
        obj.pk = saved.pk
        obj.reviewer = saved.reviewer


@admin.register(StageChange)
class StageChangeAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """The stage audit: visible, never added, changed or deleted here."""

    list_display = [
        "created_at",
        "pilot",
        "action",
        "from_stage",
        "to_stage",
        "actor",
        "overridden",
    ]
    list_filter = ["action", "to_stage", "overridden"]
    list_select_related = ["pilot", "actor"]
    search_fields = ["pilot__title", "rationale"]
    date_hierarchy = "created_at"


@admin.register(DecisionRequest)
class DecisionRequestAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Leads' requests for a decision: Ops read them here and decide with the stage actions."""

    list_display = ["requested_at", "pilot", "action", "requested_by", "status", "stage_change"]
    list_filter = ["status", "action"]
    list_select_related = ["pilot", "requested_by", "stage_change"]
    search_fields = ["pilot__title", "message"]
    # "Not now": answered without a move, with a reply the lead is told.
    actions = [admin_requests.decline]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not is_ops(request.user):
            actions.pop("decline", None)
        return actions


@admin.register(Conclusion)
class ConclusionAdmin(AppendOnlyAdmin, admin.ModelAdmin):
    """Conclusions are written by the concluding stage move; read-only here."""

    list_display = ["concluded_at", "pilot", "outcome", "concluded_by"]
    list_filter = ["outcome"]
    list_select_related = ["pilot", "concluded_by"]
    search_fields = ["pilot__title", "takeaways"]
