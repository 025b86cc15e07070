"""The append-only admins: rows added by whoever the write's rule allows, then only read.

Training sessions are recorded by Ops or by the team's champions (issue 13), not by whoever
may name champions: the admin asks `pilots.access.may_record_training`, as the champion's page
and `governance.champions.record_training` do.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.admin import AppendOnlyAdmin
from core.models import ChangeRecord
from governance import champions
from governance.models import TrainingSession
from tests.factories import MembershipFactory, OpsUserFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:governance_trainingsession_add")
FORM = {
    "topic": "Prompting safely",
    "held_on": "2026-11-20",
    "attendees": "12",
    "material_url": "https://intranet.example.com/slides",
}


def with_admin_access(user):
    """Staff with the model permission: whatever is refused then is refused by the rule."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="governance",
            codename__in=["add_trainingsession", "view_trainingsession"],
        )
    )
    return user


def test_ops_record_a_training_session_in_the_admin(client):
    team = TeamFactory(name="Support")
    ops = OpsUserFactory()
    client.force_login(ops)

    assert client.get(ADD).status_code == 200
    reply = client.post(ADD, {**FORM, "team": team.pk})

    assert reply.status_code == 302
    session = TrainingSession.objects.get()
    assert (session.team, session.attendees, session.recorded_by) == (team, 12, ops)
    assert ChangeRecord.objects.filter(action="training.recorded").count() == 1


def test_a_lead_who_is_neither_ops_nor_champion_cannot_record_one_even_with_admin_access(
    client, lead, team
):
    client.force_login(with_admin_access(lead))

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {**FORM, "team": team.pk}).status_code == 403
    assert not TrainingSession.objects.exists()


def test_a_champion_with_admin_access_records_one_for_their_team_only(client):
    team, other = TeamFactory(name="Support"), TeamFactory(name="Finance")
    champion = UserFactory()
    MembershipFactory(team=team, user=champion, role="member")
    champions.name_champion(
        team, actor=OpsUserFactory(), user=champion, duties="Clinics.", hours_per_month=4
    )
    client.force_login(with_admin_access(champion))

    page = client.get(ADD)
    assert page.status_code == 200
    choices = page.context["adminform"].form.fields["team"].queryset
    assert list(choices) == [team]
    refused = client.post(ADD, {**FORM, "team": other.pk})
    assert refused.status_code == 200  # the form again, with the choice refused
    assert not TrainingSession.objects.exists()
    assert client.post(ADD, {**FORM, "team": team.pk}).status_code == 302
    assert TrainingSession.objects.get().recorded_by == champion


def test_no_append_only_admin_changes_or_deletes_a_row_even_for_a_superuser(rf):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    request = rf.get("/")
    request.user = superuser
    append_only = [
        model_admin
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, AppendOnlyAdmin)
    ]

    assert len(append_only) >= 10
    for model_admin in append_only:
        assert not model_admin.has_change_permission(request), model_admin
        assert not model_admin.has_delete_permission(request), model_admin
    # Only those whose rule allows it add rows; audit rows never.
    adds = {type(m).__name__ for m in append_only if m.has_add_permission(request)}
    assert {"ChangeRecordAdmin", "StageChangeAdmin", "AcknowledgementAdmin"}.isdisjoint(adds)
    assert {"CharterVersionAdmin", "TrainingSessionAdmin", "ReviewAdmin"} <= adds
