"""Pages that show what the feedback says: the home, a pilot's page, the portfolio.

Thin adapters over decisions.evidence. Every pilot is reached through
Pilot.objects.visible_to (the access rule's one home); a pilot the caller may not see is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    F,
    OuterRef,
    Subquery,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.ops import is_ops
from feedback.models import FeedbackRound, Prompt, response_rate_sql
from governance import champions
from incidents.models import Incident
from pilots import access, costs, history, lifecycle, proposals, review_sla, risk
from pilots.forms import PortfolioFilterForm
from pilots.models import (
    ENDED_STAGES,
    STAGE_DESCRIPTIONS,
    AITool,
    ApprovedUse,
    Conclusion,
    DecisionRequest,
    Guardrail,
    GuardrailBreach,
    Participation,
    Pilot,
    Stage,
    SuccessMetric,
    ToolDeclaration,
)
from pilots.views import HOME_LIST

from . import banners, evidence, learnings, radar
from .forms import LearningsFilterForm

HOME_PILOTS = 10

# The board shows the most recently moved pilots of each stage; a column's "all N" link lists
# that stage alone, a page of PORTFOLIO_PAGE at a time. It bounds what the page renders (and so
# its time) however many pilots there are.
PORTFOLIO_CARDS_PER_STAGE = 12
PORTFOLIO_PAGE = 50

BOARD_STAGES = (
    Stage.DRAFT,
    Stage.PROPOSED,
    Stage.SANDBOX,
    Stage.PILOT,
    Stage.APPROVED,
    Stage.PAUSED,
    Stage.STOPPED,
    Stage.RETIRED,
)


def _visible_pilot(request: HttpRequest, pk: int) -> Pilot:
    return get_object_or_404(
        Pilot.objects.visible_to(request.user).select_related("team", "lead", "tool"), pk=pk
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {"lead_pilots": None, "prompts": None, "ops": None}
    led = _lead_home(user)
    if led is not None:
        context["lead_pilots"], context["lead_pilots_more"] = led
    prompts = list(
        Prompt.objects.filter(
            participant=user,
            answered=False,
            round__status=FeedbackRound.Status.OPEN,
            round__closes_at__gt=timezone.now(),
        )
        .select_related("round__pilot")
        .order_by("round__closes_at")[:HOME_LIST]
    )
    context["prompts"] = prompts
    context["participations"] = list(
        Pilot.objects.filter(participations__user=user)
        .exclude(stage__in=ENDED_STAGES)
        .select_related("tool")[:HOME_LIST]
    )
    if is_ops(user):
        context["ops"] = _ops_home()
    return render(request, "pilots/home.html", context)


def _count(model, **filters):
    """A subquery counting a pilot's related rows, so one query annotates every pilot."""
    return Coalesce(
        Subquery(
            model.objects.filter(pilot=OuterRef("pk"), **filters)
            .order_by()
            .values("pilot")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        0,
    )


def _lead_home(user) -> tuple[list[dict], int] | None:
    led_teams = list(access.teams_led_by(user).values_list("pk", flat=True))
    qs = access.led(Pilot.objects.all(), user).exclude(stage__in=ENDED_STAGES)
    if not led_teams and not qs.exists():
        return None
    total = qs.count()
    pilots = list(
        qs.select_related("tool", "team")
        .annotate(
            n_metrics=_count(SuccessMetric),
            n_guardrails=_count(Guardrail, disabled_at__isnull=True),
            n_participants=_count(Participation),
        )
        .order_by("-stage_changed_at", "pk")[:HOME_PILOTS]
    )
    rows = []
    for pilot in pilots:
        row: dict[str, Any] = {"pilot": pilot, "blockers": [], "gates": [], "can_submit": False}
        if pilot.stage == Stage.DRAFT:
            row["blockers"] = proposals.missing_for_submission(
                pilot,
                metrics=pilot.n_metrics,
                guardrails=pilot.n_guardrails,
                participants=pilot.n_participants,
            )
            row["can_submit"] = not row["blockers"]
        elif pilot.stage == Stage.PROPOSED:
            row["blockers"] = [_("Waiting for Ops review.")]
        elif pilot.stage in (Stage.SANDBOX, Stage.PILOT):
            row["gates"] = lifecycle.gates_for(pilot, lifecycle.Action.PROMOTE)
        elif pilot.stage == Stage.PAUSED:
            row["blockers"] = [_("Paused: Ops resume it once the cause is dealt with.")]
        rows.append(row)
    return rows, max(0, total - len(rows))


def _ops_home() -> dict[str, Any]:
    closed = (
        FeedbackRound.objects.closed()
        .filter(pilot=OuterRef("pk"), invited_count__gt=0)
        .order_by("-period_start")
        .annotate(rate=response_rate_sql())
        .values("rate")
    )
    falling = list(
        Pilot.objects.active()
        .select_related("team", "tool")
        .annotate(last_rate=Subquery(closed[:1]), previous_rate=Subquery(closed[1:2]))
        .filter(last_rate__lt=F("previous_rate"))
        .order_by("last_rate")[:HOME_LIST]
    )
    proposed = Pilot.objects.filter(stage=Stage.PROPOSED)
    # Running past their planned end: nothing ends a pilot automatically, Ops decide.
    past_end = Pilot.objects.active().filter(planned_end__lt=timezone.localdate())
    ready, ready_count = banners.ready_for_review(Pilot.objects.all())
    requests = DecisionRequest.objects.filter(status=DecisionRequest.Status.OPEN)
    # Waiting past the review SLA (pilots.review_sla): counted beside the totals, one query each.
    now = timezone.now()
    proposal_counts = proposed.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=review_sla.overdue_proposal(now))
    )
    request_counts = requests.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=review_sla.overdue_request(now))
    )
    waiting_requests = list(requests.select_related("pilot__team", "requested_by")[:HOME_LIST])
    for r in waiting_requests:
        r.overdue = review_sla.is_overdue(r.requested_at, now)
    waiting_proposals = list(
        proposed.select_related("team", "lead", "tool").order_by("stage_changed_at")[:HOME_LIST]
    )
    for p in waiting_proposals:
        p.overdue = review_sla.is_overdue(p.stage_changed_at, now)
    # Approved standards whose re-certification date has passed (pilots.approvals).
    recertification_due = ApprovedUse.objects.due_for_recertification(timezone.localdate())
    return {
        "sla_days": review_sla.sla_days(),
        "decision_requests": waiting_requests,
        "decision_requests_count": request_counts["total"],
        "decision_requests_overdue": request_counts["overdue"],
        "recertification_due": list(
            recertification_due.select_related("pilot__tool").order_by("recertify_on", "pk")[
                :HOME_LIST
            ]
        ),
        "ready": ready,
        "ready_count": ready_count,
        "past_end": list(
            past_end.select_related("team", "tool").order_by("planned_end", "pk")[:HOME_LIST]
        ),
        "past_end_count": past_end.count(),
        "proposals": waiting_proposals,
        "proposals_count": proposal_counts["total"],
        "proposals_overdue": proposal_counts["overdue"],
        "breaches": list(
            GuardrailBreach.objects.open().select_related("pilot", "guardrail")[:HOME_LIST]
        ),
        "falling": falling,
        "new_declarations": ToolDeclaration.objects.named()
        .filter(status=ToolDeclaration.Status.NEW)
        .count(),
        "open_incidents": Incident.objects.open().count(),
        # The budget guardrail: running pilots whose projected monthly cost is above their cap.
        "over_budget": list(
            Pilot.objects.over_budget().select_related("team").order_by("title")[:HOME_LIST]
        ),
        # Transparency facts past their re-check (TOOL_RECHECK_DAYS) or approved incomplete.
        "tools_to_check": list(
            AITool.objects.recheck_due(timezone.localdate()).order_by(
                F("transparency_checked_on").asc(nulls_first=True), "name"
            )[:HOME_LIST]
        ),
    }


@login_required
def pilot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _visible_pilot(request, pk)
    rounds = list(pilot.rounds.with_counts().order_by("-period_start")[:24])
    can_edit = access.may_edit(request.user, pilot)
    context = {
        "pilot": pilot,
        "stage_description": STAGE_DESCRIPTIONS[Stage(pilot.stage)],
        "metrics": list(pilot.metrics.all()),
        "participations": list(
            pilot.participations.select_related("user").order_by(
                "user__first_name", "user__username"
            )
        ),
        "changes": evidence.decision_rows(list(pilot.stage_changes.select_related("actor"))),
        "history": history.entries(pilot),
        "rounds": rounds,
        "conclusion": Conclusion.objects.filter(pilot=pilot).select_related("concluded_by").first(),
        # A standard in force shows what it is approved for (two queries, for standards only).
        "approved_use": (
            ApprovedUse.objects.current().filter(pilot=pilot).prefetch_related("teams").first()
            if pilot.stage == Stage.APPROVED
            or (pilot.stage == Stage.PAUSED and pilot.paused_from == Stage.APPROVED)
            else None
        ),
        "can_edit": can_edit,
        # Ops resolve a breach from here (an admin page that brings them back).
        "resolves_breaches": is_ops(request.user),
        "leads_it": access.is_lead_of(request.user, pilot),
        "missing": proposals.missing_for_submission(
            pilot,
            metrics=pilot.metrics.count(),
            guardrails=pilot.guardrails.enabled().count(),
            participants=pilot.participations.count(),
        )
        if can_edit
        else [],
    }
    context.update(evidence.page_context(pilot))
    # Cost per month and per hour saved (pilots.costs), from the evidence's hours saved.
    monthly = costs.monthly_cost(pilot.tool, len(context["participations"]))
    hours = context.get("hours_saved")
    context["cost"] = {
        "currency": costs.currency(),
        "monthly": monthly,
        "over_budget": costs.over_budget(monthly, pilot.budget_cap),
        "per_hour": costs.cost_per_hour(
            monthly,
            hours.estimate if hours else None,
            hours.ci_low if hours else None,
            hours.ci_high if hours else None,
        ),
    }
    # The AI Act category with its reasoning (pilots.risk), when the questionnaire was answered.
    context["ai_act"] = risk.explained(pilot)
    context["decision_request"] = (
        DecisionRequest.objects.filter(pilot=pilot, status=DecisionRequest.Status.OPEN)
        .select_related("requested_by")
        .first()
    )
    context["request_actions"] = (
        [
            (t.action, DecisionRequest.Action(t.action).label)
            for t in lifecycle.transitions_from(pilot.stage)
            if t.action in DecisionRequest.Action.values
        ]
        if context["leads_it"]
        else []
    )
    context["decision_banner"] = banners.banner(
        pilot,
        advice=context["recommendation"],
        evaluations=context["metric_evaluations"],
        open_breaches=context["open_breaches"],
    )
    return render(request, "pilots/detail.html", context)


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    filters = PortfolioFilterForm(request.GET or None)
    qs = Pilot.objects.visible_to(request.user)
    if filters.is_valid():
        if filters.cleaned_data["team"]:
            qs = qs.filter(team=filters.cleaned_data["team"])
        if filters.cleaned_data["tool"]:
            qs = qs.filter(tool=filters.cleaned_data["tool"])
        if filters.cleaned_data["risk"]:
            qs = qs.filter(risk_level=filters.cleaned_data["risk"])
    counts = dict(qs.order_by().values_list("stage").annotate(n=Count("pk", distinct=True)))
    stage = filters.cleaned_data.get("stage") if filters.is_valid() else None
    # A subquery of visible ids: visible_to() may add DISTINCT, which a window cannot follow.
    cards = Pilot.objects.filter(pk__in=qs.values("pk")).select_related("team", "tool")
    page = None
    if stage:
        paginator = Paginator(
            cards.filter(stage=stage).order_by("-stage_changed_at", "pk"), PORTFOLIO_PAGE
        )
        page = paginator.get_page(request.GET.get("page"))
        columns = {stage: list(page.object_list)}
    else:
        columns = {s: [] for s in BOARD_STAGES}
        ranked = cards.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage")],
                order_by=[F("stage_changed_at").desc(), F("pk").asc()],
            )
        ).filter(rank__lte=PORTFOLIO_CARDS_PER_STAGE)
        for pilot in ranked.order_by("stage", "rank"):
            columns[pilot.stage].append(pilot)
    board = [
        {
            "stage": s,
            "label": Stage(s).label,
            "description": STAGE_DESCRIPTIONS[s],
            "count": counts.get(s, 0),
            "pilots": columns[s],
            "hidden": counts.get(s, 0) - len(columns[s]) if page is None else 0,
        }
        for s in BOARD_STAGES
        if s in columns
    ]
    context = {
        "filters": filters,
        "board": board,
        "page": page,
        "stage": stage,
        "total": sum(counts.values()),
    }
    context.update(evidence.portfolio_context(qs))
    context["champions_by_team"] = champions.per_team_summary(qs)
    return render(request, "pilots/portfolio.html", context)


LEARNINGS_PER_PAGE = 20


@login_required
def learnings_library(request: HttpRequest) -> HttpResponse:
    """Every concluded pilot this person may see, searchable and filtered, paginated.

    Queries (whatever the number of pilots): the session and the user, Ops or not, the years,
    the tools and the teams for the filters, the count and the page of conclusions with their
    pilot, team, tool and stage change.
    """
    form = LearningsFilterForm(request.GET or None, years=learnings.years(request.user))
    qs = learnings.search(learnings.concluded(request.user), form.filters())
    page = Paginator(qs, LEARNINGS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "decisions/learnings.html",
        {
            "filters": form,
            "page": page,
            "rows": [learnings.row(c) for c in page.object_list],
            "query": query.urlencode(),
        },
    )


@login_required
def tech_radar(request: HttpRequest) -> HttpResponse:
    """The tech radar of AI tools and uses, from the pilots this person may see.

    Queries (whatever the number of pilots): the session and the user, Ops or not, the
    navigation's "leads a team", the pilots with their tool and team, their stage changes, the
    tools' recorded status changes.
    """
    return render(request, "decisions/radar.html", radar.build(request.user))
