"""Reviews: recorded by Ops through one domain function, four eyes, append-only."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from pilots import lifecycle
from pilots.lifecycle import Action, GateStatus
from pilots.models import Review, Stage
from pilots.reviews import record_review
from tests.factories import OpsUserFactory, PilotFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_ops_record_a_review_and_become_its_reviewer(ops, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage=Stage.PILOT)
    review = record_review(
        pilot.pk,
        actor=ops,
        kind=Review.Kind.LEGAL,
        outcome=Review.Outcome.CLEARED_WITH_CONDITIONS,
        notes="Anonymised tickets only.",
        reviewed_on=datetime.date(2026, 1, 10),
    )
    assert list(pilot.reviews.values_list("kind", "outcome", "reviewer", "reviewed_on")) == [
        ("legal", "cleared_with_conditions", ops.pk, datetime.date(2026, 1, 10))
    ]
    assert review.notes == "Anonymised tickets only."


def test_a_review_is_dated_today_unless_told(ops):
    review = record_review(PilotFactory().pk, actor=ops, kind="security", outcome="cleared")
    assert review.reviewed_on == timezone.localdate()


@pytest.mark.parametrize("who", ["lead", "participant", "staff", "inactive_ops", "nobody"])
def test_only_active_ops_record_a_review(who, lead, participant, team):
    actor = {
        "lead": lead,
        "participant": participant,
        "staff": UserFactory(username="staff", is_staff=True),
        "inactive_ops": OpsUserFactory(username="gone", is_active=False),
        "nobody": None,
    }[who]
    pilot = PilotFactory(team=team, lead=OpsUserFactory(username="someone"))
    with pytest.raises(PermissionRefused) as info:
        record_review(pilot.pk, actor=actor, kind="security", outcome="cleared")
    assert info.value.code == "not_ops"
    assert not Review.objects.exists()


def test_four_eyes_the_pilots_lead_cannot_review_it_even_as_ops(team):
    ops_lead = OpsUserFactory(username="opslead")
    pilot = PilotFactory(team=team, lead=ops_lead)
    with pytest.raises(PermissionRefused) as info:
        record_review(pilot.pk, actor=ops_lead, kind="security", outcome="cleared")
    assert info.value.code == "four_eyes"
    assert not Review.objects.exists()


def test_four_eyes_whoever_submitted_the_pilot_cannot_review_it(ops, ops2, lead, team):
    pilot = PilotFactory(complete=True, team=team, lead=lead)
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=ops, expected_stage=Stage.DRAFT)
    lifecycle.move(
        pilot.pk, Action.SEND_BACK, actor=ops2, expected_stage=Stage.PROPOSED, rationale="More."
    )
    # Sent back and resubmitted by the lead: the first submitter is still one of its proposers.
    lifecycle.move(pilot.pk, Action.SUBMIT, actor=lead, expected_stage=Stage.DRAFT)
    with pytest.raises(PermissionRefused) as info:
        record_review(pilot.pk, actor=ops, kind="legal", outcome="cleared")
    assert info.value.code == "four_eyes"
    assert record_review(pilot.pk, actor=ops2, kind="legal", outcome="cleared").reviewer == ops2


def test_conditions_are_required_when_cleared_with_conditions(ops):
    pilot = PilotFactory()
    with pytest.raises(ValidationFailed) as info:
        record_review(
            pilot.pk, actor=ops, kind="security", outcome="cleared_with_conditions", notes=" "
        )
    assert (info.value.code, info.value.field) == ("conditions_missing", "notes")
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"kind": "privacy"}, "invalid_kind", "kind"),
        ({"outcome": "maybe"}, "invalid_outcome", "outcome"),
        ({"reviewed_on": "tomorrow"}, "date_in_future", "reviewed_on"),
    ],
)
def test_an_unknown_kind_or_outcome_or_a_future_date_is_refused(ops, change, code, field):
    if change.get("reviewed_on") == "tomorrow":
        change = {"reviewed_on": timezone.localdate() + datetime.timedelta(days=1)}
    data = {"kind": "security", "outcome": "cleared", **change}
    with pytest.raises(ValidationFailed) as info:
        record_review(PilotFactory().pk, actor=ops, **data)
    assert (info.value.code, info.value.field) == (code, field)


def test_a_missing_pilot_is_a_field_error(ops):
    with pytest.raises(ValidationFailed) as info:
        record_review(987654, actor=ops, kind="security", outcome="cleared")
    assert (info.value.code, info.value.field) == ("pilot_missing", "pilot")


def test_a_newer_review_supersedes_the_older_one_at_the_gate(ops, ops2):
    pilot = PilotFactory(stage=Stage.PILOT)
    record_review(pilot.pk, actor=ops, kind="security", outcome="cleared")
    record_review(pilot.pk, actor=ops2, kind="security", outcome="refused", notes="Data leaks.")
    gates = {g.key: g.status for g in lifecycle.gates_for(pilot, Action.PROMOTE)}
    assert gates["security_review"] == GateStatus.FAILED
    assert pilot.reviews.count() == 2  # the cleared one is kept, superseded


def test_a_reviewed_pilot_cannot_be_deleted():
    review = ReviewFactory()
    with pytest.raises(ProtectedError):
        review.pilot.delete()
    assert Review.objects.filter(pk=review.pk).exists()


def test_postgresql_refuses_to_update_a_review(postgres):
    review = ReviewFactory(outcome=Review.Outcome.REFUSED)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Review.objects.filter(pk=review.pk).update(outcome=Review.Outcome.CLEARED)
    review.refresh_from_db()
    assert review.outcome == Review.Outcome.REFUSED


def test_postgresql_refuses_to_delete_a_review(postgres):
    review = ReviewFactory()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Review.objects.filter(pk=review.pk).delete()
    assert Review.objects.filter(pk=review.pk).exists()
