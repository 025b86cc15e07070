"""Web pages for leads, participants and Ops. Thin adapters: parse, check access, call, render.

Access goes through `_visible_pilot` and `_editable_pilot` only, so no page fetches a pilot
in a way that skips the team rules (Pilot.objects.visible_to / editable_by).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from core.ops import is_ops

from . import (
    access,
    decision_requests,
    declarations,
    demo,
    hints,
    pilot_templates,
    proposals,
    question_keys,
    similar,
    transparency,
)
from .forms import (
    DeclarationForm,
    GuardrailFormSet,
    MetricFormSet,
    ProposalForm,
)
from .models import (
    ACTIVE_STAGES,
    AITool,
    ApprovedUse,
    Pilot,
    PilotTemplate,
    Stage,
    Team,
)

# How many of their pilots a lead sees on the home page, each with what blocks it; the rest
# are on the portfolio. It bounds the page's queries however many pilots a lead has.
HOME_LIST = 50


def nav(request: HttpRequest) -> dict[str, Any]:
    """Context processor: what the navigation offers this person (evaluated only if used)."""
    user = request.user
    return {
        "nav_is_ops": SimpleLazyObject(lambda: is_ops(user)),
        "nav_leads_team": SimpleLazyObject(lambda: access.teams_led_by(user).exists()),
    }


def sign_in(request: HttpRequest) -> HttpResponse:
    """Django's sign-in page; in demo mode it also lists the demo accounts and their password.

    The list (pilots.demo.demo_accounts) is empty unless DEMO_MODE is on and demo people
    exist, and it is read only when the page is rendered, not for each sign-in attempt.
    """
    return LoginView.as_view(
        extra_context={
            "demo_accounts": SimpleLazyObject(demo.demo_accounts),
            "demo_password": demo.DEMO_PASSWORD,
        }
    )(request)


# ---------------------------------------------------------------------------------------------
# Access helpers


def _visible_pilot(request: HttpRequest, pk: int) -> Pilot:
    return get_object_or_404(
        Pilot.objects.visible_to(request.user).select_related("team", "lead", "tool"), pk=pk
    )


def _editable_pilot(request: HttpRequest, pk: int) -> Pilot:
    """Return a draft the user may edit; 404 if they may not see it, 403 if not edit it."""
    pilot = _visible_pilot(request, pk)
    if not access.may_edit(request.user, pilot):
        raise PermissionRefused(
            _("Only a draft can be edited, by its lead or a lead of its team."), code="not_editable"
        )
    return pilot


def _refused(request: HttpRequest, error: DomainError, pilot: Pilot | None = None) -> HttpResponse:
    return render(request, "pilots/refused.html", {"error": error, "pilot": pilot}, status=403)


# ---------------------------------------------------------------------------------------------
# Home


# ---------------------------------------------------------------------------------------------
# Proposing and editing


def _proposal_forms(
    request: HttpRequest, pilot: Pilot | None, start: pilot_templates.Start | None = None
):
    """Build the page's forms: bound on a save, re-displayed unbound when adding a row.

    `start`: a template or a pilot to clone pre-fills the new proposal (and its own questions
    are offered to its metrics and guardrails).
    """
    user = request.user
    teams = access.teams_led_by(user)
    if pilot is not None:
        teams = Team.objects.filter(Q(pk__in=teams) | Q(pk=pilot.team_id)).distinct()
    members = (
        get_user_model()
        .objects.filter(memberships__team__in=teams)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    kwargs = {"teams": teams, "members": members}
    # The questions offered for metrics and guardrails, in the reader's language: one query.
    questions = question_keys.asked_questions(pilot, get_language())
    if start is not None and start.questions:
        try:
            questions += question_keys.own_questions().check(start.questions)
        except ValidationFailed as e:
            # Saving refuses them too (create_draft), naming the row; say so from the start.
            messages.warning(request, e.message)
    rows = {"form_kwargs": {"questions": questions}}
    if request.method == "POST":
        form = ProposalForm(request.POST, instance=pilot, **kwargs)
        metrics = MetricFormSet(request.POST, prefix="metrics", **rows)
        guardrails = GuardrailFormSet(request.POST, prefix="guardrails", **rows)
        return form, metrics, guardrails
    if pilot is None and start is not None:
        initial = {
            name: getattr(value, "pk", value)
            for name, value in start.fields.items()
            if value is not None
        }
        if start.team is not None:
            initial["team"] = start.team
        if start.participants:
            initial["participants"] = start.participants
        metric_rows = list(start.metrics)
        guardrail_rows = list(start.guardrails)
    elif pilot is None:
        initial: dict[str, Any] = {}
        metric_rows: list[dict] = []
        guardrail_rows: list[dict] = []
    else:
        initial = {
            "team": pilot.team_id,
            "participants": list(pilot.participations.values_list("user_id", flat=True)),
        }
        metric_rows = list(pilot.metrics.values(*proposals.METRIC_FIELDS))
        # A guardrail Ops disabled is not the lead's to edit (update_draft keeps it as is).
        guardrail_rows = list(pilot.guardrails.enabled().values(*proposals.GUARDRAIL_FIELDS))
    form = ProposalForm(instance=pilot, initial=initial, **kwargs)
    # One empty row below the filled ones: a lead can type a new row without any script.
    metrics = MetricFormSet(prefix="metrics", initial=[*metric_rows, {}], **rows)
    guardrails = GuardrailFormSet(prefix="guardrails", initial=[*guardrail_rows, {}], **rows)
    return form, metrics, guardrails


def _redisplay(form, formset, add: bool):
    """Turn bound forms back into unbound ones holding what was typed (no errors shown)."""
    form_initial = {name: form[name].value() for name in form.fields}
    unbound_form = type(form)(
        initial=form_initial,
        instance=form.instance,
        teams=form.fields["team"].queryset,
        members=form.fields["participants"].queryset,
    )
    return unbound_form, formset_redisplay(formset, add=add)


def new_row_anchor(formset) -> str:
    """The id of the first field of the row that "add another" would append.

    The add button posts to the page with this anchor: opening the page, the browser scrolls to
    that field and focuses it (navigating to a fragment focuses a focusable target) — no script.
    """
    first = next(name for name in formset.empty_form.fields if name != "DELETE")
    return formset.empty_form[first].auto_id.replace("__prefix__", str(formset.total_form_count()))


def formset_redisplay(formset, *, add: bool):
    """Return the formset unbound with what was typed; `add`: one more row, its first field
    marked `autofocus` for a browser that opens the page without the anchor."""
    rows = []
    for f in formset.forms:
        rows.append({name: f[name].value() for name in f.fields if name != "DELETE"})
    if add:
        rows.append({})
    redisplayed = type(formset)(
        prefix=formset.prefix, initial=rows, form_kwargs=formset.form_kwargs
    )
    if add:
        new_row = redisplayed.forms[-1]
        first = next(name for name in new_row.fields if name != "DELETE")
        # Each form has its own copy of its fields' widgets: only the new row is marked.
        new_row.fields[first].widget.attrs["autofocus"] = True
    return redisplayed


def _rows(formset) -> list[dict]:
    """Filled rows, without the ones marked for removal or left empty."""
    return [
        f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]


def _apply_error(error: ValidationFailed, form, formsets) -> None:
    field = error.field or ""
    for formset in formsets:
        prefix = f"{formset.prefix}-"
        if field.startswith(prefix):
            index, _sep, name = field[len(prefix) :].partition("-")
            live = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            if index.isdigit() and int(index) < len(live) and name in live[int(index)].fields:
                live[int(index)].add_error(name, error.message)
                return
    form.add_error(field if field in form.fields else None, error.message)


def _proposal_page(
    request: HttpRequest, pilot: Pilot | None, start: pilot_templates.Start | None = None
) -> HttpResponse:
    form, metrics, guardrails = _proposal_forms(request, pilot, start)
    show_errors = False
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in ("add_metric", "add_guardrail", "tool_hints", "similar"):
            # "similar": show earlier pilots on this tool with a similar problem, nothing saved.
            # "tool_hints": show what earlier pilots on the chosen tool taught, nothing saved.
            form, metrics_new = _redisplay(form, metrics, add=action == "add_metric")
            guardrails = formset_redisplay(guardrails, add=action == "add_guardrail")
            metrics = metrics_new
        else:
            show_errors = True
            if form.is_valid() & metrics.is_valid() & guardrails.is_valid():
                data = dict(form.cleaned_data)
                team = data.pop("team")
                proposal = proposals.Proposal(
                    fields=data,
                    metrics=_rows(metrics),
                    guardrails=_rows(guardrails),
                    participants=list(data.pop("participants")),
                    questions=start.questions if start is not None else (),
                    origin=start.origin if start is not None else {},
                )
                try:
                    if pilot is None:
                        pilot = proposals.create_draft(
                            actor=request.user, team=team, proposal=proposal
                        )
                    else:
                        pilot = proposals.update_draft(
                            pilot.pk, editor=request.user, proposal=proposal, team=team
                        )
                    if action == "submit":
                        proposals.submit(pilot.pk, actor=request.user, expected_stage=Stage.DRAFT)
                        messages.success(request, _("Your proposal was submitted for review."))
                        return redirect(pilot)
                except ValidationFailed as e:
                    if (
                        pilot is not None
                        and pilot.pk
                        and action == "submit"
                        and e.code == "incomplete_proposal"
                    ):
                        messages.warning(
                            request,
                            _("The draft was saved, but it cannot be submitted yet: %(reason)s")
                            % {"reason": e.message},
                        )
                        return redirect("pilot_edit", pilot.pk)
                    _apply_error(e, form, [metrics, guardrails])
                except PermissionRefused as e:
                    return _refused(request, e, pilot)
                else:
                    messages.success(
                        request, _("Draft saved. You can come back to it at any time.")
                    )
                    return redirect("pilot_edit", pilot.pk)
    error_list = _error_summary(form, [metrics, guardrails]) if show_errors else []
    return render(
        request,
        "pilots/propose.html",
        {
            "form": form,
            "metrics": metrics,
            "guardrails": guardrails,
            "pilot": pilot,
            "error_list": error_list,
            "show_errors": show_errors,
            "new_metric_anchor": new_row_anchor(metrics),
            "new_guardrail_anchor": new_row_anchor(guardrails),
            "tool_hints": hints.tool_hints(request.user, _chosen_tool(form)),
            **_start_context(request, pilot, start, form),
        },
        status=400 if error_list else 200,
    )


def _chosen_tool(form) -> int | None:
    """The tool the form holds: as posted, or the draft's (no JavaScript follows the select)."""
    value = form["tool"].value()
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _error_summary(form, formsets) -> list[dict]:
    """Every error with the id of its input, for the summary at the top of the page."""
    items = [{"id": "", "label": "", "message": m} for m in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != "__all__":
            bound = form[name]
            target = bound.auto_id
            if getattr(bound.field.widget, "allow_multiple_selected", False):
                # A group of checkboxes: link to its first box.
                target = f"{bound.auto_id}_0"
            items.extend({"id": target, "label": bound.label, "message": m} for m in errors)
    for formset in formsets:
        items.extend({"id": "", "label": "", "message": m} for m in formset.non_form_errors())
        for i, f in enumerate(formset.forms, start=1):
            for name, errors in f.errors.items():
                bound = f[name]
                label = _("%(label)s (row %(row)d)") % {"label": bound.label, "row": i}
                items.extend({"id": bound.auto_id, "label": label, "message": m} for m in errors)
    return items


def _start(request: HttpRequest) -> pilot_templates.Start | None:
    """What a new proposal starts from: ?template=<id> or ?clone=<id> when the page opens,
    the form's hidden `origin` ("template:<id>", "clone:<id>") once posted. 404 when the
    template is gone or the pilot is not one the user may clone."""
    if request.method == "POST":
        kind, _sep, value = request.POST.get("origin", "").partition(":")
    elif "template" in request.GET:
        kind, value = "template", request.GET["template"]
    elif "clone" in request.GET:
        kind, value = "clone", request.GET["clone"]
    else:
        return None
    if not value.isdigit():
        if kind in ("template", "clone"):
            raise Http404
        return None
    if kind == "template":
        return pilot_templates.start_from_template(
            get_object_or_404(PilotTemplate.objects.select_related("tool"), pk=value)
        )
    if kind == "clone":
        source = _visible_pilot(request, int(value))
        if not access.may_clone(request.user, source):
            # Another team's running pilot is not theirs to copy; say no more than "not found".
            raise Http404
        return pilot_templates.start_from_pilot(
            source, user=request.user, today=timezone.localdate()
        )
    return None


def _start_context(
    request: HttpRequest, pilot: Pilot | None, start: pilot_templates.Start | None, form
) -> dict[str, Any]:
    """The propose page's "start from what worked" parts: the templates to start from, what
    this proposal started from, and earlier pilots on the same tool with a similar problem."""
    origin = ""
    if start is not None:
        ((kind, pk),) = start.origin.items()
        origin = f"{'clone' if kind == 'cloned_from' else 'template'}:{pk}"
    return {
        "templates": list(pilot_templates.usable_templates())
        if pilot is None and start is None
        else [],
        "start": start,
        "origin": origin,
        "cloning": origin.startswith("clone:"),
        "similar_checked": request.POST.get("action") == "similar",
        # After a post (errors, "check for similar pilots", a row added): the problem typed.
        "similar_pilots": similar.similar_pilots(
            request.user,
            tool_id=_chosen_tool(form),
            problem=form["problem"].value() or "",
            exclude_pilot_id=pilot.pk if pilot is not None else None,
        )
        if request.method == "POST"
        else [],
    }


@login_required
def pilot_propose(request: HttpRequest) -> HttpResponse:
    if not access.teams_led_by(request.user).exists():
        message = _(
            "Only a team lead can propose a pilot. Ask your team's lead, or declare the "
            "tool you use instead."
        )
        return _refused(request, PermissionRefused(message))
    return _proposal_page(request, None, _start(request))


@login_required
@require_POST
def pilot_save_as_template(request: HttpRequest, pk: int) -> HttpResponse:
    """Ops save a pilot as a template from its page (pilots.pilot_templates)."""
    pilot = _visible_pilot(request, pk)
    try:
        template = pilot_templates.save_from_pilot(
            pilot.pk,
            actor=request.user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
        )
    except PermissionRefused as e:
        return _refused(request, e, pilot)
    except ValidationFailed as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            _("Saved as the template “%(name)s”: leads can start from it when they propose.")
            % {"name": template.name},
        )
    return redirect(pilot)


@login_required
def pilot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        pilot = _editable_pilot(request, pk)
    except PermissionRefused as e:
        return _refused(request, e, _visible_pilot(request, pk))
    return _proposal_page(request, pilot)


@login_required
@require_POST
def pilot_submit(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _visible_pilot(request, pk)
    try:
        proposals.submit(
            pilot.pk, actor=request.user, expected_stage=request.POST.get("expected_stage", "")
        )
    except PermissionRefused as e:
        return _refused(request, e, pilot)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Your proposal was submitted for review."))
    return redirect(pilot)


@login_required
@require_POST
def pilot_request_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead asks Ops to promote or stop their pilot, with a message (from the pilot page)."""
    pilot = _visible_pilot(request, pk)
    try:
        decision_requests.request(
            pilot.pk,
            actor=request.user,
            action=request.POST.get("action", ""),
            message=request.POST.get("message", ""),
        )
    except PermissionRefused as e:
        return _refused(request, e, pilot)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Your request was sent to Ops."))
    return redirect(pilot)


# ---------------------------------------------------------------------------------------------
# Pilot page, portfolio, tools


@login_required
def tool_registry(request: HttpRequest) -> HttpResponse:
    """Every tool with its running pilots and the approved uses of its standards in force.

    Queries, whatever the number of tools: the tools, the approved uses with their pilot, and
    their teams.
    """
    tools = list(
        AITool.objects.annotate(
            running=Count("pilots", filter=Q(pilots__stage__in=ACTIVE_STAGES)),
        ).order_by("name")
    )
    uses: dict[int, list[ApprovedUse]] = {}
    for approved in (
        ApprovedUse.objects.current()
        .select_related("pilot")
        .prefetch_related("teams")
        .order_by("pilot__title", "pk")
    ):
        uses.setdefault(approved.pilot.tool_id, []).append(approved)
    for tool in tools:
        tool.approved_uses = uses.get(tool.pk, [])
    return render(request, "tools/registry.html", {"tools": tools, "today": timezone.localdate()})


@login_required
def declaration_counts(request: HttpRequest) -> HttpResponse:
    """Ops: how many people declared each tool, per team, above the amnesty threshold."""
    if not is_ops(request.user):
        return _refused(request, PermissionRefused(_("Only Ops see declaration counts.")))
    return render(
        request,
        "tools/declaration_counts.html",
        {
            "tools": declarations.counts_by_tool_and_team(),
            "threshold": declarations.amnesty_threshold(),
        },
    )


@login_required
def tool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One tool in plain words: who makes it, where data goes, who owns what (everyone)."""
    tool = get_object_or_404(AITool, pk=pk)
    today = timezone.localdate()
    return render(
        request,
        "tools/detail.html",
        {
            "tool": tool,
            "facts": transparency.plain_words(tool),
            "incomplete": bool(transparency.missing_facts(tool)),
            "recheck_due_on": transparency.recheck_due_on(tool),
            "recheck_due": transparency.is_recheck_due(tool, today),
            "is_ops": is_ops(request.user),
        },
    )


@login_required
def tool_declare(request: HttpRequest, *, anonymous: bool = False) -> HttpResponse:
    """Declare a tool; at /tools/declare/anonymous/ without a name (and no log line)."""
    teams = Team.objects.filter(memberships__user=request.user).distinct()
    form = DeclarationForm(request.POST or None, teams=teams, anonymous=anonymous)
    if request.method == "POST" and form.is_valid():
        try:
            declarations.declare(user=request.user, anonymous=anonymous, **form.cleaned_data)
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("Thank you: Ops now know about this tool, without knowing who told them.")
                if anonymous
                else _("Thank you: Ops now know about this tool and will get back to you."),
            )
            return redirect("tool_declare_anonymous" if anonymous else "tool_declare")
    return render(
        request,
        "tools/declare.html",
        {
            "anonymous": anonymous,
            "form": form,
            "error_list": _error_summary(form, []) if form.is_bound else [],
            "declarations": list(declarations.declarations_of(request.user)[:HOME_LIST]),
        },
        status=400 if form.is_bound and form.errors else 200,
    )
