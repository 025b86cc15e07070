"""The usage charter gates the inbox too: nobody answers a pilot's round from their inbox (web
or API) before acknowledging its current charter; they are told why and where instead.

The version owed is the one in force when the round opened (the first one for a round opened
before any): a new version asks again for the rounds opened after it, and the prompts of
rounds already open stay answerable (as their emailed links do).
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from feedback.models import FeedbackRound, Prompt, Response
from governance import charter
from pilots.models import Participation
from tests.factories import (
    CharterVersionFactory,
    FeedbackRoundFactory,
    ParticipationFactory,
    PilotFactory,
    UserFactory,
    pulse_questionnaire,
)
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token

pytestmark = pytest.mark.django_db

CHARTER_TEXT = "Acknowledge the usage charter first"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def open_round(pilot, *, opened=None) -> FeedbackRound:
    opened = opened or timezone.now()
    return FeedbackRoundFactory(
        pilot=pilot,
        questionnaire=pulse_questionnaire(),
        opens_at=opened,
        closes_at=opened + datetime.timedelta(days=3),
        period_start=opened.date(),
        invited_count=10,
    )


@pytest.fixture
def world():
    """A running pilot with a published charter, a round opened after it, a participant's prompt
    and a colleague who acknowledged."""
    pilot = PilotFactory(stage="pilot", anonymous_feedback=True)
    version = CharterVersionFactory(published_at=timezone.now() - datetime.timedelta(days=1))
    participant = UserFactory(username="not-yet")
    colleague = UserFactory(username="colleague")
    ParticipationFactory(pilot=pilot, user=participant, acknowledged=False)
    ParticipationFactory(pilot=pilot, user=colleague)
    feedback_round = open_round(pilot)
    prompt, _token = prompt_with_token(feedback_round, participant)
    prompt_with_token(feedback_round, colleague)
    return {"pilot": pilot, "version": version, "participant": participant, "prompt": prompt}


def nothing_stored(prompt: Prompt) -> None:
    prompt.refresh_from_db()
    assert not prompt.answered
    assert not Response.objects.filter(round=prompt.round).exists()
    assert FeedbackRound.objects.get(pk=prompt.round_id).response_count == 0


def test_the_inbox_asks_for_the_charter_instead_of_the_answer_link(client, world):
    client.force_login(world["participant"])

    page = client.get(reverse("feedback_inbox")).content.decode()

    assert CHARTER_TEXT in page
    assert reverse("charter_acknowledge", args=[world["pilot"].pk]) in page
    assert reverse("feedback_prompt", args=[world["prompt"].pk]) not in page
    assert "Answer now" not in page


def test_answering_from_the_inbox_page_is_refused_and_nothing_is_stored(client, world):
    client.force_login(world["participant"])
    url = reverse("feedback_prompt", args=[world["prompt"].pk])

    shown = client.get(url)
    posted = client.post(url, GOOD_ANSWERS)

    for reply in (shown, posted):
        assert reply.status_code == 403
        body = reply.content.decode()
        assert CHARTER_TEXT in body
        assert reverse("charter_acknowledge", args=[world["pilot"].pk]) in body
        # About them and the pilot only: no one else's name, no count of who acknowledged.
        assert "colleague" not in body
    assert 'name="quality"' not in shown.content.decode()
    nothing_stored(world["prompt"])


def test_answering_by_the_api_is_refused_with_its_code_and_nothing_is_stored(world):
    api = api_as(world["participant"])

    listed = api.get("/api/v1/prompts/").json()["results"]
    reply = api.post(
        f"/api/v1/prompts/{world['prompt'].pk}/answer/",
        {"answers": GOOD_ANSWERS},
        format="json",
    )

    assert [(p["id"], p["charter_owed"]) for p in listed] == [(world["prompt"].pk, True)]
    assert reply.status_code == 403
    body = reply.json()
    assert body["code"] == "charter_not_acknowledged"
    assert body["field"] is None
    assert world["pilot"].title in body["detail"]
    assert "colleague" not in reply.content.decode()
    nothing_stored(world["prompt"])


def test_after_acknowledging_the_prompt_is_answerable_until_the_round_closes(client, world):
    participant, prompt = world["participant"], world["prompt"]
    closes_at = prompt.round.closes_at
    client.force_login(participant)
    acknowledged = client.post(
        reverse("charter_acknowledge", args=[world["pilot"].pk]),
        {"agree": "yes", "version": world["version"].pk},
    )
    assert acknowledged.status_code == 302

    page = client.get(reverse("feedback_inbox")).content.decode()
    assert CHARTER_TEXT not in page
    assert reverse("feedback_prompt", args=[prompt.pk]) in page
    assert api_as(participant).get("/api/v1/prompts/").json()["results"][0]["charter_owed"] is False
    reply = client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS)

    assert reply.status_code == 302
    prompt.refresh_from_db()
    assert prompt.answered
    assert Response.objects.filter(round=prompt.round).count() == 1
    assert FeedbackRound.objects.get(pk=prompt.round_id).closes_at == closes_at


def test_after_acknowledging_the_api_answer_is_accepted(world):
    charter.acknowledge(world["pilot"], user=world["participant"], version_id=world["version"].pk)

    reply = api_as(world["participant"]).post(
        f"/api/v1/prompts/{world['prompt'].pk}/answer/",
        {"answers": GOOD_ANSWERS},
        format="json",
    )

    assert reply.status_code == 201
    world["prompt"].refresh_from_db()
    assert world["prompt"].answered


def test_an_acknowledgement_for_another_pilot_does_not_count(world):
    other = PilotFactory(stage="pilot")
    ParticipationFactory(pilot=other, user=world["participant"])  # acknowledges `other`

    reply = api_as(world["participant"]).post(
        f"/api/v1/prompts/{world['prompt'].pk}/answer/",
        {"answers": GOOD_ANSWERS},
        format="json",
    )

    assert reply.status_code == 403
    nothing_stored(world["prompt"])


def test_a_new_version_asks_again_for_rounds_opened_after_it_only(world):
    pilot, participant, old_prompt = world["pilot"], world["participant"], world["prompt"]
    charter.acknowledge(pilot, user=participant, version_id=world["version"].pk)
    newer = CharterVersionFactory(published_at=timezone.now() + datetime.timedelta(minutes=1))
    later_round = open_round(pilot, opened=timezone.now() + datetime.timedelta(days=4))
    new_prompt, _token = prompt_with_token(later_round, participant)
    api = api_as(participant)

    owed = {p["id"]: p["charter_owed"] for p in api.get("/api/v1/prompts/").json()["results"]}
    assert owed == {old_prompt.pk: False, new_prompt.pk: True}

    # The round opened under version 1 stays answerable with its acknowledgement.
    kept = api.post(
        f"/api/v1/prompts/{old_prompt.pk}/answer/", {"answers": GOOD_ANSWERS}, format="json"
    )
    assert kept.status_code == 201
    # The round opened after version 2 asks for version 2.
    refused = api.post(
        f"/api/v1/prompts/{new_prompt.pk}/answer/", {"answers": GOOD_ANSWERS}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "charter_not_acknowledged"
    nothing_stored(new_prompt)

    charter.acknowledge(pilot, user=participant, version_id=newer.pk)
    accepted = api.post(
        f"/api/v1/prompts/{new_prompt.pk}/answer/", {"answers": GOOD_ANSWERS}, format="json"
    )
    assert accepted.status_code == 201


def test_a_round_opened_before_any_charter_asks_for_the_first_version(world):
    early_pilot = PilotFactory(stage="pilot")
    Participation.objects.create(pilot=early_pilot, user=world["participant"])
    early_round = open_round(early_pilot, opened=timezone.now() - datetime.timedelta(days=2))
    prompt, _token = prompt_with_token(early_round, world["participant"])
    api = api_as(world["participant"])
    url = f"/api/v1/prompts/{prompt.pk}/answer/"

    assert api.post(url, {"answers": GOOD_ANSWERS}, format="json").status_code == 403
    charter.acknowledge(early_pilot, user=world["participant"], version_id=world["version"].pk)
    assert api.post(url, {"answers": GOOD_ANSWERS}, format="json").status_code == 201


def test_without_any_charter_nothing_is_asked(client):
    pilot = PilotFactory(stage="pilot")
    participant = UserFactory()
    prompt, _token = prompt_with_token(open_round(pilot), participant)
    client.force_login(participant)

    assert CHARTER_TEXT not in client.get(reverse("feedback_inbox")).content.decode()
    assert (
        client.post(reverse("feedback_prompt", args=[prompt.pk]), GOOD_ANSWERS).status_code == 302
    )


@pytest.mark.parametrize("size", [1, 8])
def test_the_inbox_checks_the_charter_in_the_same_queries_at_any_size(
    client, django_assert_max_num_queries, size
):
    participant = UserFactory()
    CharterVersionFactory(published_at=timezone.now() - datetime.timedelta(days=1))
    for i in range(size):
        pilot = PilotFactory(stage="pilot")
        ParticipationFactory(pilot=pilot, user=participant, acknowledged=bool(i % 2))
        prompt_with_token(open_round(pilot), participant)
    client.force_login(participant)

    # Session, user, open prompts (charter owed read in the same query), participations,
    # absences, pilots led: as without a charter.
    with django_assert_max_num_queries(7):
        page = client.get(reverse("feedback_inbox")).content.decode()

    assert page.count(CHARTER_TEXT) == (size + 1) // 2
    assert page.count("Answer now") == size // 2
