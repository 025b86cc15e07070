"""Who may edit a draft, asked of pilots.access directly (`may_edit` and its QuerySet form)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from pilots import access
from pilots.models import Pilot, Stage
from tests.factories import MembershipFactory, OpsUserFactory, PilotFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def named_lead(team):
    """A plain member of the team who is the pilot's named lead."""
    user = UserFactory(username="named")
    MembershipFactory(team=team, user=user, role="member")
    return user


@pytest.fixture
def draft(team, named_lead):
    return PilotFactory(team=team, lead=named_lead, stage=Stage.DRAFT)


def _may_edit(user, pilot: Pilot) -> bool:
    """Ask both forms of the rule, and check they agree."""
    one = access.may_edit(user, pilot)
    listed = access.editable(Pilot.objects.all(), user).filter(pk=pilot.pk).exists()
    assert one == listed, "may_edit and editable disagree"
    return one


def test_the_named_lead_of_a_draft_may_edit_it(named_lead, draft):
    assert _may_edit(named_lead, draft)


def test_a_lead_of_the_team_may_edit_a_draft_someone_else_leads(lead, draft):
    assert _may_edit(lead, draft)


def test_a_plain_member_of_the_team_may_not_edit_its_draft(participant, draft):
    assert not _may_edit(participant, draft)


def test_a_lead_of_another_team_may_not_edit_the_draft(outsider, draft):
    assert not _may_edit(outsider, draft)


def test_ops_who_do_not_lead_the_pilot_may_not_edit_it():
    draft = PilotFactory(stage=Stage.DRAFT)
    assert not _may_edit(OpsUserFactory(), draft)


def test_nobody_signed_out_or_deactivated_may_edit_a_draft(named_lead, draft):
    assert not _may_edit(AnonymousUser(), draft)
    named_lead.is_active = False
    named_lead.save()
    assert not _may_edit(named_lead, draft)


@pytest.mark.parametrize("stage", [s for s in Stage.values if s != Stage.DRAFT])
def test_once_submitted_no_lead_may_edit_the_pilot(stage, named_lead, lead, team):
    pilot = PilotFactory(
        team=team,
        lead=named_lead,
        stage=stage,
        **({"paused_from": Stage.PILOT} if stage == Stage.PAUSED else {}),
    )
    assert not _may_edit(named_lead, pilot)
    assert not _may_edit(lead, pilot)


def test_a_lead_of_two_teams_lists_each_editable_draft_once(lead, team, participant):
    # The team has several members: a join on memberships would list its draft once each.
    other = PilotFactory(stage=Stage.DRAFT)
    MembershipFactory(team=other.team, user=lead, role="lead")
    mine = PilotFactory(team=team, lead=lead, stage=Stage.DRAFT)
    PilotFactory(team=team, stage=Stage.PROPOSED)
    assert list(access.editable(Pilot.objects.order_by("pk"), lead)) == [other, mine]
