"""Who may open which page: every kind of user × every page, as status codes."""

import pytest
from django.urls import reverse

from pilots.models import Pilot
from tests.factories import (
    GuardrailFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "ops", "lead", "other_lead", "participant", "stranger")

# page -> expected status per actor, in the order of ACTORS. 302 for anonymous: to sign-in.
MATRIX = {
    "home": (302, 200, 200, 200, 200, 200),
    "portfolio": (302, 200, 200, 200, 200, 200),
    "draft_page": (302, 200, 200, 404, 200, 404),
    "sandbox_page": (302, 200, 200, 200, 200, 200),
    "edit_draft": (302, 403, 200, 404, 403, 404),
    "edit_sandbox": (302, 403, 403, 403, 403, 403),
    "propose": (302, 403, 200, 200, 403, 403),
    "submit_draft": (302, 302, 302, 404, 403, 404),
    "tool_registry": (302, 200, 200, 200, 200, 200),
    "tool_declare": (302, 200, 200, 200, 200, 200),
}


@pytest.fixture
def world(ops, lead, team, participant, outsider):
    draft = PilotFactory(team=team, lead=lead, title="Team draft")
    SuccessMetricFactory(pilot=draft)
    GuardrailFactory(pilot=draft)
    ParticipationFactory(pilot=draft, user=participant)
    sandbox = PilotFactory(team=team, lead=lead, stage="sandbox", title="Team sandbox")
    ParticipationFactory(pilot=sandbox, user=participant)
    return {
        "users": {
            "anonymous": None,
            "ops": ops,
            "lead": lead,
            "other_lead": outsider,
            "participant": participant,
            "stranger": UserFactory(username="stranger"),
        },
        "draft": draft,
        "sandbox": sandbox,
    }


def _request(client, page: str, world):
    draft, sandbox = world["draft"], world["sandbox"]
    if page == "submit_draft":
        return client.post(reverse("pilot_submit", args=[draft.pk]), {"expected_stage": "draft"})
    url = {
        "home": reverse("home"),
        "portfolio": reverse("portfolio"),
        "draft_page": reverse("pilot_detail", args=[draft.pk]),
        "sandbox_page": reverse("pilot_detail", args=[sandbox.pk]),
        "edit_draft": reverse("pilot_edit", args=[draft.pk]),
        "edit_sandbox": reverse("pilot_edit", args=[sandbox.pk]),
        "propose": reverse("pilot_propose"),
        "tool_registry": reverse("tool_registry"),
        "tool_declare": reverse("tool_declare"),
    }[page]
    return client.get(url)


@pytest.mark.parametrize(
    ("page", "actor", "expected"),
    [
        (page, actor, statuses[i])
        for page, statuses in MATRIX.items()
        for i, actor in enumerate(ACTORS)
    ],
)
def test_each_kind_of_user_gets_the_expected_answer_from_each_page(
    client, world, page, actor, expected
):
    user = world["users"][actor]
    if user is not None:
        client.force_login(user)
    response = _request(client, page, world)
    assert response.status_code == expected
    if actor == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("actor", "moved"),
    [("ops", True), ("lead", True), ("other_lead", False), ("participant", False)],
)
def test_only_the_lead_or_ops_move_a_draft_to_review(client, world, actor, moved):
    client.force_login(world["users"][actor])
    _request(client, "submit_draft", world)
    world["draft"].refresh_from_db()
    assert (world["draft"].stage == "proposed") is moved


def test_another_teams_draft_is_not_on_the_portfolio(client, world):
    client.force_login(world["users"]["other_lead"])
    html = client.get(reverse("portfolio")).content.decode()
    assert "Team sandbox" in html
    assert "Team draft" not in html


def test_ops_see_every_draft_on_the_portfolio(client, world):
    client.force_login(world["users"]["ops"])
    html = client.get(reverse("portfolio")).content.decode()
    assert "Team draft" in html


def test_an_edit_by_someone_who_may_not_edit_changes_nothing(client, world):
    from tests.web.conftest import proposal_post

    client.force_login(world["users"]["participant"])
    draft = world["draft"]
    response = client.post(
        reverse("pilot_edit", args=[draft.pk]),
        proposal_post(team=draft.team, tool=draft.tool, title="Hijacked"),
    )
    assert response.status_code == 403
    assert Pilot.objects.get(pk=draft.pk).title == "Team draft"
