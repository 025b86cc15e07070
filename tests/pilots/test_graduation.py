"""Graduation: a promotion to approved standard records what the tool is approved for; the
registry shows it; Ops and the lead are reminded before the re-certification date; past it,
the standard is flagged on the Ops home; Ops re-certify it."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import outbox
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord, Delivery
from notifications import recertification
from notifications.models import Profile
from pilots import approvals, history, lifecycle
from pilots.lifecycle import Action
from pilots.models import ApprovedUse, Pilot, Stage, StageChange
from tests.factories import (
    AIToolFactory,
    PilotFactory,
    TeamFactory,
    UserFactory,
    approval_scope,
    findings_for,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:pilots_pilot_changelist")
USES = reverse("admin:pilots_approveduse_changelist")
DAY = datetime.timedelta(days=1)


def promote(pilot: Pilot, actor, **scope) -> StageChange:
    return lifecycle.move(
        pilot.pk,
        Action.PROMOTE,
        actor=actor,
        expected_stage=Stage.PILOT,
        rationale="Every metric met; reviews cleared.",
        override=True,
        conclusion=findings_for(Stage.PILOT, Action.PROMOTE, approval=approval_scope(**scope)),
    )


def standard(ops, *, recertify_on=None, **pilot_fields) -> ApprovedUse:
    pilot = PilotFactory(stage=Stage.PILOT, **pilot_fields)
    promote(pilot, ops, recertify_on=recertify_on or timezone.localdate() + 365 * DAY)
    return ApprovedUse.objects.get(pilot=pilot)


# --- The promotion records the scope --------------------------------------------------------


def test_a_promotion_records_the_scope_with_a_change_record(ops):
    finance = TeamFactory(name="Finance", slug="finance")
    pilot = PilotFactory(stage=Stage.PILOT)
    date = timezone.localdate() + 200 * DAY
    change = promote(
        pilot, ops, use="  Drafting replies.  ", teams=(finance.pk,), recertify_on=date
    )
    approved = ApprovedUse.objects.get(pilot=pilot)
    assert (approved.stage_change, approved.use, approved.recertify_on) == (
        change,
        "Drafting replies.",
        date,
    )
    assert approved.max_data_classification == "internal"
    assert list(approved.teams.all()) == [finance]
    record = ChangeRecord.objects.get(action="approval.scoped")
    assert (record.actor, record.scope_id) == (ops, pilot.pk)
    assert record.changes["recertify_on"][1] == date.isoformat()
    assert record.changes["teams"][1] == [finance.pk]


def test_a_promotion_without_a_scope_is_refused_and_nothing_moves(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.move(
            pilot.pk,
            Action.PROMOTE,
            actor=ops,
            expected_stage=Stage.PILOT,
            rationale="Met.",
            override=True,
            conclusion=findings_for(Stage.PILOT, Action.PROMOTE, approval=None),
        )
    assert (refused.value.code, refused.value.field) == ("approval_required", "approval")
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    assert not StageChange.objects.exists()
    assert not ApprovedUse.objects.exists()


@pytest.mark.parametrize(
    ("scope", "code", "field"),
    [
        ({"use": "   "}, "use_required", "use"),
        ({"max_data_classification": ""}, "classification_required", "max_data_classification"),
        # The tool takes confidential data at most (AIToolFactory).
        (
            {"max_data_classification": "restricted"},
            "classification_above_tool",
            "max_data_classification",
        ),
        ({"teams": (999_999,)}, "unknown_team", "teams"),
        ({"recertify_on": None}, "recertify_on_required", "recertify_on"),
        ({"recertify_on": "today"}, "recertify_on_not_future", "recertify_on"),
    ],
)
def test_a_scope_that_breaks_a_rule_is_refused_with_its_field(ops, scope, code, field):
    if scope.get("recertify_on") == "today":
        scope["recertify_on"] = timezone.localdate()
    pilot = PilotFactory(stage=Stage.PILOT)
    with pytest.raises(ValidationFailed) as refused:
        promote(pilot, ops, **scope)
    assert (refused.value.code, refused.value.field) == (code, field)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    assert not ApprovedUse.objects.exists()


def test_tomorrow_is_a_valid_re_certification_date(ops):
    approved = standard(ops, recertify_on=timezone.localdate() + DAY)
    assert approved.recertify_on == timezone.localdate() + DAY


def test_the_database_refuses_an_approved_use_without_a_use(ops):
    approved = standard(ops)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovedUse.objects.filter(pk=approved.pk).update(use="")


def test_the_database_refuses_an_unknown_classification(ops):
    approved = standard(ops)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovedUse.objects.filter(pk=approved.pk).update(max_data_classification="secret")


# --- The admin's stage page --------------------------------------------------------------------


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _confirm(client, pilot, **form):
    findings = findings_for(Stage.PILOT, Action.PROMOTE)
    data = {
        "action": "promote",
        "confirm": "yes",
        "_selected_action": [pilot.pk],
        f"expected_stage_{pilot.pk}": pilot.stage,
        "rationale": "Every metric met.",
        "override": "on",
        f"outcome_{pilot.pk}": findings.outcome,
        f"takeaways_{pilot.pk}": findings.takeaways,
    }
    data.update(form)
    return client.post(CHANGELIST, data, follow=True)


def test_the_admin_promotion_page_asks_for_the_scope(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    page = ops_client.post(
        CHANGELIST, {"action": "promote", "index": 0, "_selected_action": [pilot.pk]}
    ).content.decode()
    for name in ("use", "max_data_classification", "teams", "recertify_on"):
        assert f'name="{name}_{pilot.pk}"' in page
    # Only what the tool may receive is offered (it takes confidential data at most).
    assert 'value="confidential"' in page and 'value="restricted"' not in page


def test_the_admin_sandbox_promotion_asks_for_no_scope(ops_client):
    pilot = PilotFactory(stage=Stage.SANDBOX)
    page = ops_client.post(
        CHANGELIST, {"action": "promote", "index": 0, "_selected_action": [pilot.pk]}
    ).content.decode()
    assert f'name="use_{pilot.pk}"' not in page


def test_an_admin_promotion_without_a_use_is_refused_naming_it_and_keeps_what_ops_wrote(
    ops_client,
):
    pilot = PilotFactory(stage=Stage.PILOT)
    date = (timezone.localdate() + 90 * DAY).isoformat()
    response = _confirm(
        ops_client,
        pilot,
        **{
            f"use_{pilot.pk}": " ",
            f"max_data_classification_{pilot.pk}": "internal",
            f"recertify_on_{pilot.pk}": date,
        },
    )
    html = response.content.decode()
    assert "Say for which use the tool is approved." in html
    assert f'value="{date}"' in html
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    assert not ApprovedUse.objects.exists()


def test_an_admin_promotion_with_a_past_date_is_refused_naming_the_date(ops_client):
    pilot = PilotFactory(stage=Stage.PILOT)
    response = _confirm(
        ops_client,
        pilot,
        **{
            f"use_{pilot.pk}": "Drafting.",
            f"max_data_classification_{pilot.pk}": "internal",
            f"recertify_on_{pilot.pk}": (timezone.localdate() - DAY).isoformat(),
        },
    )
    assert "The re-certification date must be in the future" in response.content.decode()
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


def test_an_admin_promotion_records_the_scope(ops_client, ops):
    finance = TeamFactory(name="Finance", slug="finance")
    pilot = PilotFactory(stage=Stage.PILOT)
    date = timezone.localdate() + 90 * DAY
    _confirm(
        ops_client,
        pilot,
        **{
            f"use_{pilot.pk}": "Summaries of meeting notes.",
            f"max_data_classification_{pilot.pk}": "confidential",
            f"teams_{pilot.pk}": [str(finance.pk)],
            f"recertify_on_{pilot.pk}": date.isoformat(),
        },
    )
    pilot.refresh_from_db()
    assert pilot.stage == Stage.APPROVED
    approved = pilot.approved_use
    assert (approved.use, approved.max_data_classification, approved.recertify_on) == (
        "Summaries of meeting notes.",
        "confidential",
        date,
    )
    assert list(approved.teams.all()) == [finance]
    assert approved.approved_by == ops


# --- The API -----------------------------------------------------------------------------------


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _promotion(approval=None) -> dict:
    body = {
        "action": "promote",
        "expected_stage": "pilot",
        "rationale": "Every metric met.",
        "override": True,
        "conclusion": {"outcome": "adopted", "takeaways": "It works when reviewed."},
    }
    if approval is not None:
        body["conclusion"]["approval"] = approval
    return body


@pytest.mark.parametrize("url", ["/api/v1/pilots/{}/transitions/", "/api/pilots/{}/move/"])
def test_the_api_refuses_a_promotion_without_a_scope_naming_the_field(ops, url):
    pilot = PilotFactory(stage=Stage.PILOT)
    response = api_as(ops).post(url.format(pilot.pk), _promotion(), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "approval_required"
    assert response.json()["field"] == "approval"
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT


def test_the_api_refuses_a_scope_without_a_date_naming_the_field(ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    response = api_as(ops).post(
        f"/api/v1/pilots/{pilot.pk}/transitions/",
        _promotion({"use": "Drafting.", "max_data_classification": "internal"}),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("recertify_on_required", "recertify_on")
    assert not ApprovedUse.objects.exists()


def test_the_api_promotes_with_the_scope(ops):
    team = TeamFactory(name="Legal", slug="legal")
    pilot = PilotFactory(stage=Stage.PILOT)
    date = timezone.localdate() + 120 * DAY
    response = api_as(ops).post(
        f"/api/v1/pilots/{pilot.pk}/transitions/",
        _promotion(
            {
                "use": "Contract summaries.",
                "max_data_classification": "internal",
                "teams": [team.pk],
                "recertify_on": date.isoformat(),
            }
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    approved = ApprovedUse.objects.get(pilot=pilot)
    assert (approved.use, approved.recertify_on) == ("Contract summaries.", date)
    assert list(approved.teams.values_list("pk", flat=True)) == [team.pk]


# --- The tool registry -------------------------------------------------------------------------


def test_the_registry_shows_each_tool_s_approved_uses_and_their_limits(client, ops):
    tool = AIToolFactory(name="Copilot")
    finance = TeamFactory(name="Finance", slug="finance")
    pilot = PilotFactory(stage=Stage.PILOT, tool=tool)
    promote(pilot, ops, use="Drafting replies.", teams=(finance.pk,))
    other = PilotFactory(stage=Stage.PILOT, tool=tool)
    promote(other, ops, use="Meeting summaries.")
    client.force_login(UserFactory())
    page = client.get(reverse("tool_registry")).content.decode()
    assert "Drafting replies." in page and "Meeting summaries." in page
    assert "data up to Internal" in page
    assert "Finance" in page and "every team" in page
    assert "re-certify by" in page


def test_a_retired_standard_s_use_leaves_the_registry(client, ops):
    pilot = PilotFactory(stage=Stage.PILOT, tool=AIToolFactory(name="Copilot"))
    promote(pilot, ops, use="Drafting replies.")
    lifecycle.move(
        pilot.pk,
        Action.RETIRE,
        actor=ops,
        expected_stage=Stage.APPROVED,
        rationale="Replaced.",
        conclusion=findings_for(Stage.APPROVED, Action.RETIRE),
    )
    client.force_login(UserFactory())
    assert "Drafting replies." not in client.get(reverse("tool_registry")).content.decode()


@pytest.mark.parametrize("size", [2, 20])
def test_the_registry_s_queries_do_not_grow_with_its_standards(
    client, ops, size, django_assert_max_num_queries
):
    teams = [TeamFactory() for _ in range(3)]
    for i in range(size):
        pilot = PilotFactory(stage=Stage.PILOT, tool=AIToolFactory(name=f"Tool {i % 5}"))
        promote(pilot, ops, teams=tuple(t.pk for t in teams[: i % 3]))
    client.force_login(UserFactory())
    # Session, user, Ops group, leads a team (nav); tools, approved uses, their teams.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("tool_registry"))
    assert response.content.decode().count('class="approved-use"') == size


# --- Re-certification --------------------------------------------------------------------------


def test_ops_re_certify_a_standard_with_a_new_date_and_a_change_record(ops):
    approved = standard(ops, recertify_on=timezone.localdate() + 10 * DAY)
    new_date = timezone.localdate() + 400 * DAY
    approvals.recertify(approved.pk, actor=ops, recertify_on=new_date, reason="Still fine.")
    approved.refresh_from_db()
    assert approved.recertify_on == new_date
    assert approved.recertified_at is not None
    record = ChangeRecord.objects.get(action="approval.recertified")
    assert (record.actor, record.reason, record.scope_id) == (ops, "Still fine.", approved.pilot_id)
    assert record.changes["recertify_on"][1] == new_date.isoformat()


@pytest.mark.parametrize(
    ("days", "reason", "code", "field"),
    [
        (0, "Fine.", "recertify_on_not_future", "recertify_on"),
        (30, "  ", "reason_required", "reason"),
    ],
)
def test_a_re_certification_that_breaks_a_rule_is_refused(ops, days, reason, code, field):
    approved = standard(ops, recertify_on=timezone.localdate() + 10 * DAY)
    with pytest.raises(ValidationFailed) as refused:
        approvals.recertify(
            approved.pk,
            actor=ops,
            recertify_on=timezone.localdate() + days * DAY,
            reason=reason,
        )
    assert (refused.value.code, refused.value.field) == (code, field)
    approved.refresh_from_db()
    assert approved.recertify_on == timezone.localdate() + 10 * DAY


def test_only_ops_re_certify(ops, lead):
    approved = standard(ops, lead=lead)
    with pytest.raises(PermissionRefused):
        approvals.recertify(
            approved.pk, actor=lead, recertify_on=timezone.localdate() + 400 * DAY, reason="x"
        )


def test_ops_re_certify_in_the_admin(ops_client, ops):
    approved = standard(ops, recertify_on=timezone.localdate() + 10 * DAY)
    page = ops_client.post(
        USES, {"action": "recertify", "index": 0, "_selected_action": [approved.pk]}
    ).content.decode()
    assert 'name="recertify_on"' in page and 'name="reason"' in page
    new_date = timezone.localdate() + 300 * DAY
    ops_client.post(
        USES,
        {
            "action": "recertify",
            "confirm": "yes",
            "_selected_action": [approved.pk],
            "recertify_on": new_date.isoformat(),
            "reason": "Reviewed with security.",
        },
        follow=True,
    )
    approved.refresh_from_db()
    assert approved.recertify_on == new_date


def test_an_admin_re_certification_without_a_reason_stays_on_the_page(ops_client, ops):
    approved = standard(ops, recertify_on=timezone.localdate() + 10 * DAY)
    response = ops_client.post(
        USES,
        {
            "action": "recertify",
            "confirm": "yes",
            "_selected_action": [approved.pk],
            "recertify_on": (timezone.localdate() + 300 * DAY).isoformat(),
            "reason": "",
        },
    )
    assert "Say why the standard is re-certified." in response.content.decode()
    approved.refresh_from_db()
    assert approved.recertify_on == timezone.localdate() + 10 * DAY


# --- Reminders and the flag --------------------------------------------------------------------


def _reminders() -> list[Delivery]:
    return list(Delivery.objects.filter(kind=recertification.RECERTIFICATION).order_by("pk"))


def test_ops_and_the_lead_are_reminded_once_per_threshold(ops, lead, settings):
    settings.RECERTIFICATION_REMINDER_DAYS = [30, 7]
    today = timezone.localdate()
    approved = standard(ops, lead=lead, recertify_on=today + 40 * DAY)
    # 31 days before: nothing yet.
    assert recertification.remind_recertifications(today=today + 9 * DAY) == 0
    # 30 days before: Ops and the lead, once, however often beat ticks.
    assert recertification.remind_recertifications(today=today + 10 * DAY) == 2
    assert recertification.remind_recertifications(today=today + 10 * DAY) == 0
    assert recertification.remind_recertifications(today=today + 20 * DAY) == 0
    assert {d.recipient_user for d in _reminders()} == {ops, lead}
    # 7 days before: the second threshold, once.
    assert recertification.remind_recertifications(today=today + 33 * DAY) == 2
    assert recertification.remind_recertifications(today=today + 35 * DAY) == 0
    assert len(_reminders()) == 4
    assert {d.dedupe_key.split(":")[3] for d in _reminders()} == {"30", "7"}
    assert all(d.payload["id"] == approved.pk for d in _reminders())


def test_the_task_twice_writes_the_reminders_once(ops, lead, settings):
    from notifications import tasks

    settings.RECERTIFICATION_REMINDER_DAYS = [30]
    standard(ops, lead=lead, recertify_on=timezone.localdate() + 20 * DAY)
    assert tasks.remind_recertifications() == {"queued": 2}
    assert tasks.remind_recertifications() == {"queued": 0}
    assert len(_reminders()) == 2


def test_a_re_certified_standard_is_reminded_again_for_its_new_date(ops, lead, settings):
    settings.RECERTIFICATION_REMINDER_DAYS = [30]
    today = timezone.localdate()
    approved = standard(ops, lead=lead, recertify_on=today + 20 * DAY)
    recertification.remind_recertifications(today=today)
    approvals.recertify(approved.pk, actor=ops, recertify_on=today + 50 * DAY, reason="Fine.")
    assert recertification.remind_recertifications(today=today) == 0
    assert recertification.remind_recertifications(today=today + 20 * DAY) == 2


def test_the_reminder_is_written_in_the_lead_s_language_and_sent(ops, lead, settings):
    settings.RECERTIFICATION_REMINDER_DAYS = [30]
    Profile.objects.create(user=lead, language="fr")
    standard(ops, lead=lead, recertify_on=timezone.localdate() + 20 * DAY, title="Brouillons")
    recertification.remind_recertifications()
    outbox.deliver([d.pk for d in _reminders()])
    to_lead = next(m for m in mail.outbox if lead.email in m.to)
    to_ops = next(m for m in mail.outbox if ops.email in m.to)
    assert "Brouillons" in to_lead.subject and "Brouillons" in to_ops.subject
    assert "in 20 days" in to_ops.body
    assert to_lead.extra_headers["Content-Language"] == "fr"


def test_a_reminder_for_a_standard_re_certified_meanwhile_is_cancelled(ops, lead, settings):
    settings.RECERTIFICATION_REMINDER_DAYS = [30]
    approved = standard(ops, lead=lead, recertify_on=timezone.localdate() + 20 * DAY)
    recertification.remind_recertifications()
    approvals.recertify(
        approved.pk, actor=ops, recertify_on=timezone.localdate() + 300 * DAY, reason="Fine."
    )
    report = outbox.deliver([d.pk for d in _reminders()])
    assert (report.sent, report.cancelled) == (0, 2)


def test_the_standard_is_flagged_on_the_ops_home_once_its_date_has_passed(client, ops):
    import time_machine

    approved = standard(ops, recertify_on=timezone.localdate() + 10 * DAY, title="Drafts")
    client.force_login(ops)
    with time_machine.travel(timezone.now() + 10 * DAY):
        # On the date itself: not yet past.
        assert "due for re-certification since" not in client.get(reverse("home")).content.decode()
    with time_machine.travel(timezone.now() + 11 * DAY):
        page = client.get(reverse("home")).content.decode()
    assert "Approved standards due for re-certification" in page
    assert "Drafts" in page
    assert list(ApprovedUse.objects.due_for_recertification(approved.recertify_on + DAY)) == [
        approved
    ]


# --- History -----------------------------------------------------------------------------------


def test_the_pilot_s_history_says_what_the_standard_is_approved_for(ops):
    approved = standard(ops)
    approvals.recertify(
        approved.pk, actor=ops, recertify_on=timezone.localdate() + 500 * DAY, reason="Fine."
    )
    words = [e.action for e in history.entries(approved.pilot)]
    assert "Conclusion recorded" in words
    assert "Scope of the approved standard recorded" in words
    assert "Approved standard re-certified" in words


def test_a_standard_s_page_shows_what_it_is_approved_for(client, ops):
    finance = TeamFactory(name="Finance", slug="finance")
    approved = standard(ops, title="Drafts")
    approved.teams.set([finance])
    client.force_login(ops)
    page = client.get(reverse("pilot_detail", args=[approved.pilot_id])).content.decode()
    assert "What this standard is approved for" in page
    assert "Drafting replies to customer tickets." in page
    assert "Finance" in page


def test_a_running_pilot_s_page_shows_no_approved_use(client, ops):
    pilot = PilotFactory(stage=Stage.PILOT)
    client.force_login(ops)
    page = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    assert "What this standard is approved for" not in page
