"""Who may do what with a pilot: the one home of every such rule.

Each rule is a function of (user, pilot or team), and, where a page or the API lists many
pilots, a QuerySet filter of the same rule (`Pilot.objects.visible_to(user)` and
`editable_by(user)` call `visible` and `editable` here). "Is Ops" is asked of `core.ops`, never
recomputed from a group's name; "leads" is decided here, never by comparing `lead_id` elsewhere.
A guard test (tests/test_access_homes.py) fails if a rule is recomputed in another module.

Domain writes (proposals, lifecycle, measures, reviews, guardrails, declarations, the pilot's
own questions) ask these functions with their actor; views, admin, API and tasks ask the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.ops import is_ops

from .choices import Stage, TeamRole

if TYPE_CHECKING:
    from .models import Pilot, Team

# The models ask this module (Pilot.objects.visible_to), so it reaches them by name at call time.


def _memberships() -> QuerySet:
    return apps.get_model("pilots", "Membership").objects.all()


def _teams() -> QuerySet:
    return apps.get_model("pilots", "Team").objects.all()


# Stages whose pilots only their team (and Ops) may see: nobody else is concerned yet.
PRIVATE_STAGES = (Stage.DRAFT, Stage.PROPOSED)
# Stages of a pilot that was decided (with a conclusion): anyone who sees it may start from it.
CONCLUDED_STAGES = (Stage.APPROVED, Stage.STOPPED, Stage.RETIRED)


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


# ---------------------------------------------------------------------------------------------
# Roles


def leads_team(user, team: Team | int) -> bool:
    """Tell whether a user is a lead of a team (a membership with the lead role)."""
    if not _signed_in(user):
        return False
    team_id = getattr(team, "pk", team)
    return _memberships().filter(user_id=user.pk, team_id=team_id, role=TeamRole.LEAD).exists()


def member_of(user, team: Team | int) -> bool:
    """Tell whether a user is a member of a team, whatever the role."""
    if not _signed_in(user):
        return False
    team_id = getattr(team, "pk", team)
    return _memberships().filter(user_id=user.pk, team_id=team_id).exists()


def teams_led_by(user) -> QuerySet[Team]:
    """Teams in which a user may propose a pilot."""
    if not _signed_in(user):
        return _teams().none()
    return _teams().filter(memberships__user=user, memberships__role=TeamRole.LEAD)


def is_lead_of(user, pilot: Pilot) -> bool:
    """Tell whether a user leads a pilot: its named lead, or a lead of its team."""
    if not _signed_in(user):
        return False
    return pilot.lead_id == user.pk or leads_team(user, pilot.team_id)


def led_by(user) -> Q:
    """The filter of the pilots a user leads (the QuerySet form of `is_lead_of`)."""
    return Q(lead=user) | Q(team__memberships__user=user, team__memberships__role=TeamRole.LEAD)


def led(pilots: QuerySet[Pilot], user) -> QuerySet[Pilot]:
    """Filter the pilots a user leads, without duplicates (a subquery, not a join)."""
    if not _signed_in(user):
        return pilots.none()
    return pilots.filter(Q(lead=user) | Q(team__in=teams_led_by(user).values("pk")))


# ---------------------------------------------------------------------------------------------
# Pilots


def visible(pilots: QuerySet[Pilot], user) -> QuerySet[Pilot]:
    """Filter the pilots a user may see: drafts and proposals only their team's, Ops all."""
    if not _signed_in(user):
        return pilots.none()
    if is_ops(user):
        return pilots
    return pilots.filter(
        ~Q(stage__in=PRIVATE_STAGES) | Q(team__memberships__user=user) | Q(lead=user)
    ).distinct()


def may_see(user, pilot: Pilot) -> bool:
    """Tell whether a user may see a pilot (the rule of `visible`, for one pilot)."""
    if not _signed_in(user):
        return False
    if is_ops(user) or pilot.stage not in PRIVATE_STAGES or pilot.lead_id == user.pk:
        return True
    return member_of(user, pilot.team_id)


def editable(pilots: QuerySet[Pilot], user) -> QuerySet[Pilot]:
    """Filter the pilots a user may edit as a lead: drafts they lead."""
    if not _signed_in(user):
        return pilots.none()
    return pilots.filter(stage=Stage.DRAFT).filter(led_by(user)).distinct()


def may_edit(user, pilot: Pilot) -> bool:
    """Tell whether a user may edit (and submit) a pilot's proposal: a draft they lead."""
    return pilot.stage == Stage.DRAFT and is_lead_of(user, pilot)


def may_propose_for(user, team: Team) -> bool:
    """Tell whether a user may write a pilot for a team: a lead of it, or Ops."""
    return is_ops(user) or leads_team(user, team)


def may_move(user, pilot: Pilot, *, ops_only: bool) -> bool:
    """Tell whether a user may attempt a stage move (four eyes and gates come on top)."""
    if not _signed_in(user):
        return False
    if ops_only:
        return is_ops(user)
    return is_ops(user) or may_edit(user, pilot)


def may_manage_questions(user, pilot: Pilot) -> bool:
    """Tell whether a user may add or change a pilot's own feedback questions: its leads."""
    return is_lead_of(user, pilot)


def managed(pilots: QuerySet[Pilot], user) -> QuerySet[Pilot]:
    """Filter the pilots whose own questions a user may manage (`may_manage_questions`)."""
    if not _signed_in(user):
        return pilots.none()
    return pilots.filter(led_by(user)).distinct()


def may_review(user) -> bool:
    """Tell whether a user may record a security or legal review: Ops."""
    return _signed_in(user) and is_ops(user)


def may_set_budget_action(user) -> bool:
    """Tell whether a user may change what a proposed or running pilot's budget guardrail
    does (flag or pause): Ops (a lead chooses it in their draft)."""
    return _signed_in(user) and is_ops(user)


def may_correct(user) -> bool:
    """Tell whether a user may correct a running pilot's measures (Ops, with a reason)."""
    return _signed_in(user) and is_ops(user)


def may_resolve_breach(user) -> bool:
    """Tell whether a user may resolve a guardrail breach: Ops."""
    return _signed_in(user) and is_ops(user)


def may_handle_declaration(user) -> bool:
    """Tell whether a user may handle a tool declaration: Ops."""
    return _signed_in(user) and is_ops(user)


def may_request_decision(user, pilot: Pilot) -> bool:
    """Tell whether a user may ask Ops to promote or stop a pilot: whoever leads it."""
    return is_lead_of(user, pilot)


def may_clone(
    user, pilot: Pilot, *, leads_a_team: bool | None = None, leads_it: bool | None = None
) -> bool:
    """Tell whether a user may start a new proposal from a pilot ("clone this pilot").

    A lead of some team, from a pilot they lead, or from a concluded one they may see:
    another team's running pilot is theirs to join, not to copy. `leads_a_team` (whether
    `teams_led_by(user)` has any team) and `leads_it` (`is_lead_of(user, pilot)`): answers
    the page already has, passed to save their queries.
    """
    if leads_a_team is None:
        leads_a_team = teams_led_by(user).exists()
    if not leads_a_team:
        return False
    if pilot.stage in CONCLUDED_STAGES and may_see(user, pilot):
        return True
    return is_lead_of(user, pilot) if leads_it is None else leads_it


def may_manage_templates(user) -> bool:
    """Tell whether a user may save or write a pilot template: Ops."""
    return _signed_in(user) and is_ops(user)


# ---------------------------------------------------------------------------------------------
# Governance: the usage charter (governance.charter asks these)


def _participations() -> QuerySet:
    return apps.get_model("pilots", "Participation").objects.all()


def takes_part_in(user, pilot: Pilot | int) -> bool:
    """Tell whether a user is a participant of a pilot (invited to its rounds)."""
    if not _signed_in(user):
        return False
    pilot_id = getattr(pilot, "pk", pilot)
    return _participations().filter(user_id=user.pk, pilot_id=pilot_id).exists()


def may_acknowledge_charter(user, pilot: Pilot | int) -> bool:
    """Tell whether a user may acknowledge the charter for a pilot: its participants."""
    return takes_part_in(user, pilot)


def may_publish_charter(user) -> bool:
    """Tell whether a user may publish a new version of the usage charter: Ops."""
    return _signed_in(user) and is_ops(user)


def may_see_charter_coverage(user) -> bool:
    """Tell whether a user may see who acknowledged the charter, per pilot and team: Ops."""
    return _signed_in(user) and is_ops(user)


# ---------------------------------------------------------------------------------------------
# Governance: AI champions (governance.champions asks these)


def _champions() -> QuerySet:
    return apps.get_model("governance", "TeamChampion").objects.all()


def championed_teams(user) -> QuerySet[Team]:
    """The teams a user is AI champion of."""
    if not _signed_in(user):
        return _teams().none()
    return _teams().filter(pk__in=_champions().filter(user_id=user.pk).values("team_id"))


def is_champion_of(user, team: Team | int) -> bool:
    """Tell whether a user is an AI champion of a team."""
    if not _signed_in(user):
        return False
    team_id = getattr(team, "pk", team)
    return _champions().filter(user_id=user.pk, team_id=team_id).exists()


def champion_exists(*, user: str, team: str) -> Exists:
    """True on rows whose `user` field is an AI champion of their `team` field's team (a
    subquery of the rows' own query)."""
    return Exists(_champions().filter(user_id=OuterRef(user), team_id=OuterRef(team)))


def may_name_champions(user) -> bool:
    """Tell whether a user may name (or remove) a team's AI champions: Ops."""
    return _signed_in(user) and is_ops(user)


def may_record_training(user, team: Team | int | None = None) -> bool:
    """Tell whether a user may record a training session for a team: Ops or its champions.

    Without a team: whether they may record one for some team (the admin's add button).
    """
    if not _signed_in(user):
        return False
    if is_ops(user):
        return True
    if team is None:
        return championed_teams(user).exists()
    return is_champion_of(user, team)


def training_teams(user) -> QuerySet[Team]:
    """The teams a user may record training sessions for (the form's choices)."""
    if not _signed_in(user):
        return _teams().none()
    return _teams() if is_ops(user) else championed_teams(user)


def may_relay_declaration(user, team: Team | int) -> bool:
    """Tell whether a user may relay an anonymous tool declaration for a team: its champions.

    Not Ops: the amnesty is for people who would rather not tell Ops themselves.
    """
    return is_champion_of(user, team)


def may_see_champion_coverage(user) -> bool:
    """Tell whether a user may see which teams lack a champion: Ops."""
    return _signed_in(user) and is_ops(user)
