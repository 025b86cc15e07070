"""AI champions: Ops name them per team; they record training sessions and watch their teams.

Who is a champion of which team, and who may do what here, is asked of `pilots.access`.
Naming a champion and recording a session each write one change record (scope: the team).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from pilots import access
from pilots.models import (
    ENDED_STAGES,
    DecisionRequest,
    GuardrailBreach,
    Pilot,
    Stage,
    Team,
    ToolDeclaration,
)

from . import charter
from .models import TeamChampion, TrainingSession

MAX_HOURS_PER_MONTH = 200


def name_champion(team: Team, *, actor, user, duties: str, hours_per_month: int) -> TeamChampion:
    """Name `user` AI champion of `team`, as Ops: a member of the team, with duties and time."""
    if not access.may_name_champions(actor):
        raise PermissionRefused(_("Only Ops name AI champions."))
    if not access.member_of(user, team):
        raise ValidationFailed(
            _("A champion must be a member of the team."), code="not_a_member", field="user"
        )
    if not (duties or "").strip():
        raise ValidationFailed(
            _("Say what the champion is expected to do."), code="duties_required", field="duties"
        )
    if not 1 <= (hours_per_month or 0) <= MAX_HOURS_PER_MONTH:
        raise ValidationFailed(
            _("Give the time allotted, from 1 to %(max)s hours a month.")
            % {"max": MAX_HOURS_PER_MONTH},
            code="hours_out_of_range",
            field="hours_per_month",
        )
    try:
        with transaction.atomic():
            champion = TeamChampion.objects.create(
                team=team,
                user=user,
                duties=duties.strip(),
                hours_per_month=hours_per_month,
                named_by=actor,
            )
            changelog.record(
                "champion.named",
                subject=champion,
                actor=actor,
                scope=team,
                changes={
                    "user": [None, user.pk],
                    "duties": [None, champion.duties],
                    "hours_per_month": [None, hours_per_month],
                },
            )
    except IntegrityError:
        raise ValidationFailed(
            _("This person is already a champion of this team."),
            code="already_champion",
            field="user",
        ) from None
    return champion


def record_training(
    team: Team,
    *,
    actor,
    topic: str,
    held_on: datetime.date,
    attendees: int,
    material_url: str = "",
) -> TrainingSession:
    """Record a training session run for a team, as Ops or one of its champions."""
    if not access.may_record_training(actor, team):
        raise PermissionRefused(_("Only Ops and the team's champions record its trainings."))
    if not (topic or "").strip():
        raise ValidationFailed(_("Give the session's topic."), code="topic_required", field="topic")
    if (attendees or 0) < 1:
        raise ValidationFailed(
            _("At least one person attended."), code="attendees_required", field="attendees"
        )
    with transaction.atomic():
        session = TrainingSession.objects.create(
            team=team,
            topic=topic.strip(),
            held_on=held_on,
            attendees=attendees,
            material_url=material_url or "",
            recorded_by=actor,
        )
        changelog.record(
            "training.recorded",
            subject=session,
            actor=actor,
            scope=team,
            changes=changelog.snapshot(session, ["topic", "held_on", "attendees", "material_url"]),
        )
    return session


def teams_without_champion(*, actor) -> list[Team]:
    """Teams with a running, paused or proposed pilot, or a tool declaration, but no champion.

    One query: three EXISTS on the team row.
    """
    if not access.may_see_champion_coverage(actor):
        raise PermissionRefused(_("Only Ops see which teams lack a champion."))
    return list(
        Team.objects.annotate(
            has_champion=Exists(TeamChampion.objects.filter(team=OuterRef("pk"))),
            has_pilot=Exists(
                Pilot.objects.filter(team=OuterRef("pk")).exclude(
                    stage__in=(Stage.DRAFT, *ENDED_STAGES)
                )
            ),
            has_declaration=Exists(ToolDeclaration.objects.filter(team=OuterRef("pk"))),
        )
        .filter(Q(has_pilot=True) | Q(has_declaration=True), has_champion=False)
        .order_by("name")
    )


@dataclass
class Home:
    teams: list[Team]
    pilots: list[Pilot]
    breaches: list[GuardrailBreach]
    declarations: list[ToolDeclaration]
    waiting: list[DecisionRequest]
    coverage: list[charter.TeamCoverage]
    trainings: list[TrainingSession]


def home(user) -> Home:
    """What a champion watches in their teams; empty for someone who champions no team.

    Named declarations are shown by tool, use and status, never by who declared; anonymous
    ones (including those the champion relayed) are not listed.
    """
    teams = list(access.championed_teams(user).order_by("name"))
    if not teams:
        return Home([], [], [], [], [], [], [])
    pilots = Pilot.objects.filter(team__in=teams)
    _version, coverage = charter.coverage_of(pilots)
    return Home(
        teams=teams,
        pilots=list(
            pilots.exclude(stage__in=ENDED_STAGES)
            .select_related("team", "tool")
            .order_by("team__name", "title")
        ),
        breaches=list(
            GuardrailBreach.objects.open()
            .filter(pilot__team__in=teams)
            .select_related("pilot")
            .order_by("-pk")
        ),
        declarations=list(
            # Named ones only: an anonymous declaration is never listed one by one (its use
            # and its place in the list could point at someone); it shows in Ops' counts.
            ToolDeclaration.objects.named()
            .filter(team__in=teams)
            .only("tool_name", "used_for", "status", "created_at", "team")
            .order_by("-created_at")[:50]
        ),
        waiting=list(
            DecisionRequest.objects.filter(
                pilot__team__in=teams, status=DecisionRequest.Status.OPEN
            )
            .select_related("pilot")
            .order_by("pk")
        ),
        coverage=[team for team in coverage if team.acknowledged < team.participants],
        trainings=list(TrainingSession.objects.filter(team__in=teams).select_related("team")[:20]),
    )


# How far back the portfolio counts a team's training sessions.
SESSIONS_WINDOW_DAYS = 365


@dataclass
class TeamSummary:
    team: Team
    champions: list[str]
    recent_sessions: int
    last_session: datetime.date | None


def per_team_summary(pilots) -> list[TeamSummary]:
    """Champions and training sessions of the teams of `pilots` (a queryset of visible pilots),
    for the portfolio: teams with a champion or a session only.

    Two queries whatever the numbers: the teams with their session count over the last
    SESSIONS_WINDOW_DAYS and last session date (subqueries), then their champions' names.
    """
    since = timezone.localdate() - datetime.timedelta(days=SESSIONS_WINDOW_DAYS)
    sessions = TrainingSession.objects.filter(team=OuterRef("pk")).order_by()
    teams = list(
        Team.objects.filter(pk__in=pilots.order_by().values("team_id"))
        .annotate(
            has_champion=Exists(TeamChampion.objects.filter(team=OuterRef("pk"))),
            recent_sessions=Coalesce(
                Subquery(
                    sessions.filter(held_on__gte=since)
                    .values("team")
                    .annotate(n=Count("pk"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            last_session=Subquery(sessions.order_by("-held_on").values("held_on")[:1]),
        )
        .filter(Q(has_champion=True) | Q(last_session__isnull=False))
        .order_by("name")
    )
    if not teams:
        return []
    names: dict[int, list[str]] = {}
    for champion in (
        TeamChampion.objects.filter(team__in=teams)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    ):
        names.setdefault(champion.team_id, []).append(
            champion.user.get_full_name() or champion.user.get_username()
        )
    return [
        TeamSummary(
            team=team,
            champions=names.get(team.pk, []),
            recent_sessions=team.recent_sessions,
            last_session=team.last_session,
        )
        for team in teams
    ]
