import pytest

from pilots import lifecycle
from pilots.models import StageChange
from tests.factories import PilotFactory

pytestmark = pytest.mark.django_db


def test_a_lead_submits_a_draft_and_it_is_recorded(lead, team):
    pilot = PilotFactory(lead=lead, team=team)
    change = lifecycle.move(pilot.pk, "submit", actor=lead, expected_stage="draft")
    pilot.refresh_from_db()
    assert pilot.stage == "proposed"
    assert StageChange.objects.get() == change
    assert change.actor == lead
