"""Shadow-AI amnesty: a tool declared anonymously names nobody; Ops see counts, not people."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.models import ChangeRecord
from pilots import declarations
from pilots.models import AITool, Pilot, ToolDeclaration
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.incidents.test_incident_anonymity import every_row, user_columns

pytestmark = pytest.mark.django_db


def declare(user, *, anonymous=True, tool_name="ChatThing", team=None) -> ToolDeclaration:
    return declarations.declare(
        user=user,
        tool_name=tool_name,
        used_for="Summarising meeting notes",
        data_classification="internal",
        team=team,
        anonymous=anonymous,
    )


def test_an_anonymous_declaration_stores_the_tool_use_and_data_never_the_person(participant):
    declaration = declare(participant)

    assert declaration.declared_by is None
    assert declaration.team is None  # no default team: naming one is the person's choice
    assert (declaration.tool_name, declaration.used_for, declaration.data_classification) == (
        "ChatThing",
        "Summarising meeting notes",
        "internal",
    )
    midnight = datetime.time()
    assert timezone.localtime(declaration.created_at).time() == midnight
    assert list(declarations.declarations_of(participant)) == []


def test_a_named_declaration_still_defaults_to_the_persons_team(participant, team):
    assert declare(participant, anonymous=False).team == team


def test_the_web_form_declares_anonymously_without_a_log_line_naming_the_person(
    client, participant, team, caplog
):
    client.force_login(participant)
    caplog.set_level(logging.DEBUG)
    page = client.post(
        reverse("tool_declare_anonymous"),
        {
            "tool_name": "ChatThing",
            "used_for": "Drafting",
            "data_classification": "public",
            "team": team.pk,
        },
    )

    assert page.status_code == 302
    declaration = ToolDeclaration.objects.get()
    assert (declaration.declared_by, declaration.team) == (None, team)
    for record in caplog.records:
        assert getattr(record, "user_id", None) != participant.pk, record.getMessage()
        assert participant.username not in record.getMessage()
    assert not ChangeRecord.objects.filter(actor=participant).exists()


def test_turning_an_anonymous_declaration_into_a_draft_pilot_is_refused(ops, participant):
    declaration = declare(participant, team=participant.memberships.get().team)

    with pytest.raises(ValidationFailed) as refused:
        declarations.turn_into_pilot(declaration.pk, actor=ops)

    assert (refused.value.code, refused.value.field) == ("anonymous_declaration", "declared_by")
    assert not Pilot.objects.exists()
    # Registering the tool still works, and names nobody.
    tool = declarations.register_tool(declaration.pk, actor=ops)
    assert "anonymously" in AITool.objects.get(pk=tool.pk).notes
    assert participant.username not in tool.notes


def test_ops_see_counts_per_tool_and_team_only_from_the_threshold(client, ops, settings):
    settings.DECLARATION_COUNT_THRESHOLD = 3
    big, small = TeamFactory(name="Big"), TeamFactory(name="Small")
    people = [UserFactory() for _ in range(5)]
    for person in people[:3]:
        MembershipFactory(team=big, user=person)
        declare(person, team=big)
    for person in people[3:]:
        MembershipFactory(team=small, user=person)
        declare(person, team=small, tool_name="chatthing")  # same tool, any case
    declare(people[0], tool_name="Rare", team=big)

    counts = declarations.counts_by_tool_and_team()

    assert counts == [
        {
            "tool": "ChatThing",
            "total": 5,
            "teams": [{"team": "Big", "count": 3}],
            "hidden": 2,
        }
    ]
    client.force_login(ops)
    page = client.get(reverse("declaration_counts")).content.decode()
    assert "Big: 3" in page
    assert "Small" not in page
    assert "Rare" not in page


def test_anonymous_declarations_are_not_listed_one_by_one_to_ops(client, ops, participant):
    declare(participant, team=participant.memberships.get().team)
    named = declare(participant, anonymous=False, tool_name="Named tool")
    client.force_login(ops)

    listing = client.get(reverse("admin:pilots_tooldeclaration_changelist"))
    assert [d.pk for d in listing.context["cl"].result_list] == [named.pk]
    home = client.get(reverse("home")).context["ops"]
    assert home["new_declarations"] == 1


def test_declaration_counts_are_for_ops_only(client, participant):
    client.force_login(participant)
    assert client.get(reverse("declaration_counts")).status_code == 403


@pytest.mark.parametrize("size", [3, 60])
def test_the_declaration_counts_cost_the_same_queries_at_every_size(
    client, ops, size, django_assert_max_num_queries
):
    team = TeamFactory()
    for i in range(size):
        person = UserFactory()
        MembershipFactory(team=team, user=person)
        declare(person, team=team, tool_name=f"Tool {i % 3}")
    client.force_login(ops)
    # Session and user, Ops check, the navigation's "leads a team", one grouped count.
    with django_assert_max_num_queries(5):
        page = client.get(reverse("declaration_counts"))
    assert page.status_code == 200


def _rows_added_by_declaring(client, person, team, url_name: str) -> dict[str, set[tuple]]:
    client.force_login(person)
    before = every_row()
    page = client.post(
        reverse(url_name),
        {
            "tool_name": "ChatThing",
            "used_for": "Drafting",
            "data_classification": "public",
            "team": team.pk,
        },
    )
    assert page.status_code == 302
    after = every_row()
    return {table: after[table] - before.get(table, set()) for table in after}


def _pointing_at(person, added: dict[str, set[tuple]]) -> list[tuple[str, tuple]]:
    """The new rows that point at the person or carry their name, username or email."""
    pointers = user_columns()
    words = (person.username, person.email, person.first_name, person.last_name)
    found = []
    for table, rows in added.items():
        for row in rows:
            text = " ".join(str(value) for value in row)
            if any(row[position] == person.pk for position in pointers.get(table, [])) or any(
                word and word in text for word in words
            ):
                found.append((table, row))
    return found


def test_the_attack_an_anonymous_declaration_leaves_no_row_that_points_at_its_author(
    client, participant, team
):
    """Ops with the whole database, before and after: no new row names or points at who
    declared (the declaration, change records, the outbox, follow-ups: every table)."""
    added = _rows_added_by_declaring(client, participant, team, "tool_declare_anonymous")
    assert added["pilots_tooldeclaration"]
    assert _pointing_at(participant, added) == []


def test_the_attack_finds_the_author_of_a_named_declaration(client, participant, team):
    """The same search on a named declaration finds its author: the attack can see."""
    added = _rows_added_by_declaring(client, participant, team, "tool_declare")
    assert ("pilots_tooldeclaration", next(iter(added["pilots_tooldeclaration"]))) in (
        _pointing_at(participant, added)
    )
