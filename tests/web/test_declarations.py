"""Tool declarations: declared by anyone, turned by Ops into a tool or a draft pilot."""

import pytest
from django.urls import reverse

from core.exceptions import PermissionRefused, ValidationFailed
from pilots import declarations
from pilots.models import AITool, Pilot, ToolDeclaration
from tests.factories import AIToolFactory, UserFactory

pytestmark = pytest.mark.django_db


def _declare(user, **kwargs) -> ToolDeclaration:
    return declarations.declare(
        user=user,
        tool_name=kwargs.pop("tool_name", "MeetingBot"),
        used_for="Meeting notes",
        data_classification="internal",
        **kwargs,
    )


def test_a_declaration_goes_to_the_declaring_persons_team(participant, team):
    assert _declare(participant).team == team


def test_a_person_cannot_declare_for_a_team_they_are_not_in(participant, outsider):
    finance = outsider.teams.get()
    with pytest.raises(ValidationFailed) as e:
        _declare(participant, team=finance)
    assert e.value.field == "team"


def test_registering_creates_a_tool_under_evaluation(ops, participant):
    declaration = _declare(participant)
    tool = declarations.register_tool(declaration.pk, actor=ops)
    declaration.refresh_from_db()
    assert (tool.name, tool.approval_status) == ("MeetingBot", "under_evaluation")
    assert (declaration.status, declaration.tool) == ("registered", tool)


def test_registering_a_known_tool_links_it_instead_of_duplicating(ops, participant):
    known = AIToolFactory(name="MeetingBot")
    declaration = _declare(participant, tool_name="meetingbot")
    assert declarations.register_tool(declaration.pk, actor=ops) == known
    assert AITool.objects.count() == 1


def test_a_declaration_is_handled_only_once(ops, participant):
    declaration = _declare(participant)
    declarations.register_tool(declaration.pk, actor=ops)
    with pytest.raises(ValidationFailed) as e:
        declarations.turn_into_pilot(declaration.pk, actor=ops)
    assert e.value.code == "already_handled"
    assert not Pilot.objects.exists()


def test_only_ops_handle_declarations(lead, participant):
    declaration = _declare(participant)
    with pytest.raises(PermissionRefused):
        declarations.register_tool(declaration.pk, actor=lead)


def test_a_draft_pilot_opens_for_the_declaring_team_led_by_the_declarer(ops, participant, team):
    declaration = _declare(participant)
    pilot = declarations.turn_into_pilot(declaration.pk, actor=ops)
    declaration.refresh_from_db()
    assert (pilot.stage, pilot.team, pilot.lead) == ("draft", team, participant)
    assert pilot.tool.name == "MeetingBot"
    assert pilot.problem == "Meeting notes"
    assert (declaration.status, declaration.pilot) == ("piloted", pilot)


def test_a_declarer_without_a_team_gets_no_pilot(ops):
    loner = UserFactory(username="loner")
    declaration = _declare(loner)
    with pytest.raises(ValidationFailed) as e:
        declarations.turn_into_pilot(declaration.pk, actor=ops)
    assert e.value.code == "no_team"
    declaration.refresh_from_db()
    assert declaration.status == "new"


# Through the admin --------------------------------------------------------------------------


def _run_action(client, action: str, declaration: ToolDeclaration):
    return client.post(
        reverse("admin:pilots_tooldeclaration_changelist"),
        {"action": action, "_selected_action": [declaration.pk]},
        follow=True,
    )


def test_ops_register_a_declared_tool_from_the_admin(client, ops, participant):
    declaration = _declare(participant)
    client.force_login(ops)
    changelist = client.get(reverse("admin:pilots_tooldeclaration_changelist"))
    assert "MeetingBot" in changelist.content.decode()
    response = _run_action(client, "register_as_tool", declaration)
    assert "registered as the tool MeetingBot" in response.content.decode()
    declaration.refresh_from_db()
    assert declaration.status == "registered"
    assert AITool.objects.filter(name="MeetingBot").exists()


def test_ops_turn_a_declaration_into_a_draft_pilot_from_the_admin(client, ops, participant, team):
    declaration = _declare(participant)
    client.force_login(ops)
    response = _run_action(client, "turn_into_draft_pilot", declaration)
    assert "draft pilot" in response.content.decode()
    pilot = Pilot.objects.get()
    assert (pilot.team, pilot.lead, pilot.stage) == (team, participant, "draft")


def test_the_admin_shows_why_a_declaration_cannot_become_a_pilot(client, ops):
    declaration = _declare(UserFactory(username="loner"))
    client.force_login(ops)
    response = _run_action(client, "turn_into_draft_pilot", declaration)
    assert "belongs to no team" in response.content.decode()
    assert not Pilot.objects.exists()


def test_a_tool_registered_from_a_confidential_declaration_may_receive_only_public_data(
    ops, participant
):
    """The data an employee admitted giving an unvetted tool is not what it may receive."""
    declaration = declarations.declare(
        user=participant,
        tool_name="ShadowGPT",
        used_for="Summarising contracts",
        data_classification="confidential",
    )
    tool = declarations.register_tool(declaration.pk, actor=ops)
    assert (tool.approval_status, tool.max_data_classification) == ("under_evaluation", "public")


def test_a_draft_from_a_declaration_keeps_the_declared_data_but_submitting_checks_the_ceiling(
    ops, participant
):
    from pilots import proposals
    from tests.factories import GuardrailFactory, ParticipationFactory, SuccessMetricFactory

    pilot = declarations.turn_into_pilot(_declare(participant).pk, actor=ops)
    assert (pilot.data_classification, pilot.tool.max_data_classification) == (
        "internal",
        "public",
    )
    SuccessMetricFactory(pilot=pilot)
    GuardrailFactory(pilot=pilot)
    ParticipationFactory(pilot=pilot, user=participant)
    with pytest.raises(ValidationFailed) as e:
        proposals.submit(pilot.pk, actor=participant, expected_stage="draft")
    assert (e.value.code, e.value.field) == ("classification_too_high", "data_classification")


def test_ops_dismiss_a_declaration_with_a_note_the_person_can_read(ops, participant):
    declaration = _declare(participant)
    with pytest.raises(ValidationFailed) as e:
        declarations.dismiss(declaration.pk, actor=ops, note="  ")
    assert (e.value.code, e.value.field) == ("note_required", "ops_note")
    declarations.dismiss(declaration.pk, actor=ops, note="We already license NoteTaker: use it.")
    mine = declarations.declarations_of(participant).get()
    assert (mine.status, mine.ops_note, mine.handled_by) == (
        "dismissed",
        "We already license NoteTaker: use it.",
        ops,
    )
    assert mine.handled_at is not None


def test_the_database_refuses_a_dismissal_without_a_note(participant):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    declaration = _declare(participant)
    with pytest.raises(IntegrityError), transaction.atomic():
        ToolDeclaration.objects.filter(pk=declaration.pk).update(
            status="dismissed", handled_at=timezone.now()
        )


def test_ops_dismiss_from_the_admin_and_the_note_is_required_there_too(client, ops, participant):
    declaration = _declare(participant)
    client.force_login(ops)
    url = reverse("admin:pilots_tooldeclaration_changelist")
    chosen = {"action": "dismiss_with_note", "_selected_action": [declaration.pk]}
    page = client.post(url, chosen)
    assert page.status_code == 200 and 'name="ops_note"' in page.content.decode()
    refused = client.post(url, {**chosen, "confirm": "yes", "ops_note": " "})
    # The same refusal as the domain's, on the same page: nothing dismissed.
    assert "Write a note for the person" in refused.content.decode()
    assert ToolDeclaration.objects.get().status == "new"
    client.post(url, {**chosen, "confirm": "yes", "ops_note": "Use the licensed NoteTaker."})
    assert ToolDeclaration.objects.get().status == "dismissed"


def test_a_person_sees_their_declarations_and_what_ops_did_with_them(client, ops, participant):
    registered = _declare(participant, tool_name="MeetingBot")
    dismissed = _declare(participant, tool_name="ShadowGPT")
    _declare(UserFactory(username="someone-else"), tool_name="SecretTool")
    declarations.register_tool(registered.pk, actor=ops)
    declarations.dismiss(dismissed.pk, actor=ops, note="Use the licensed NoteTaker.")
    client.force_login(participant)
    page = client.get(reverse("tool_declare")).content.decode()
    mine = page.split('id="h-mine"')[1]
    assert "MeetingBot" in mine and "Registered as MeetingBot" in mine
    assert "ShadowGPT" in mine and "Use the licensed NoteTaker." in mine
    assert "SecretTool" not in page
