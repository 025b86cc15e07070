"""Anonymous pilots: no page, admin screen, API, export, log or table row says who said what.

The places are discovered, not listed: every ModelAdmin registered (changelist and change page
of every object), every named URL of the project (filled with the ids at hand), every response
content type (HTML, JSON, CSV, Markdown). A place "links" a person to an answer when one record
of it (a table row, list item, paragraph or block; a JSON object; a CSV or Markdown line; a DB
row; the whole change page of a response or answer) holds both a respondent's identifier and
text only that respondent wrote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import models
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from feedback import answering
from feedback.models import Answer, FeedbackRound, Prompt, Response
from tests.factories import ParticipationFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

RESPONDENTS = 6
BLOCK_TAGS = r"tr|li|p|div|dd|dt|section|article|h[1-6]|fieldset|pre|blockquote"
BLOCK_SPLIT = re.compile(rf"<\s*/?\s*(?:{BLOCK_TAGS})\b[^>]*>", re.IGNORECASE)
UNSELECTED_OPTION = re.compile(
    r"<option(?![^>]*\bselected\b)[^>]*>.*?</option>", re.IGNORECASE | re.DOTALL
)
TAG = re.compile(r"<[^>]+>")


@dataclass
class World:
    """An anonymous pilot's round answered by RESPONDENTS people, each with their own words."""

    feedback_round: FeedbackRound
    users: list = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    # For each respondent: (identifiers of the person, words only they wrote).
    people: list[tuple[set[str], set[str]]] = field(default_factory=list)


def identifiers(user) -> set[str]:
    return {user.username, user.email, f"{user.first_name} {user.last_name}", user.last_name}


def leaks(records: list[str], people: list[tuple[set[str], set[str]]]) -> list[str]:
    """Return the records that hold a person's identifier and words only that person wrote."""
    found = []
    for record in records:
        for ids, words in people:
            if any(i in record for i in ids) and any(w in record for w in words):
                found.append(record[:300])
    return found


def html_records(html: str) -> list[str]:
    html = UNSELECTED_OPTION.sub(" ", html)  # a select listing every user links no one
    return [TAG.sub(" ", chunk) for chunk in BLOCK_SPLIT.split(html)]


def json_records(data: Any) -> list[str]:
    """Each object's own scalar values (and scalar lists), at every depth."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            scalars = [str(v) for v in node.values() if not isinstance(v, (dict, list))]
            for v in node.values():
                if isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
                    scalars.extend(map(str, v))
            out.append(" | ".join(scalars))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return out


def records_of(response) -> list[str]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8", errors="replace")
    kind = response.get("Content-Type", "")
    if "json" in kind:
        try:
            return json_records(json.loads(text))
        except ValueError:
            return text.splitlines()
    if "html" in kind:
        return html_records(text)
    return text.splitlines()


def build_world(client) -> World:
    feedback_round = pulse_round(anonymous=True)
    world = World(feedback_round)
    for i in range(RESPONDENTS):
        user = UserFactory(
            username=f"respondent_{i}",
            email=f"respondent_{i}@example.org",
            first_name=f"Givenname{i}q",
            last_name=f"Familyname{i}z",
        )
        ParticipationFactory(pilot=feedback_round.pilot, user=user)
        prompt, token = prompt_with_token(feedback_round, user)
        words = {f"zebra-comment-{i}", f"okapi-incident-{i}"}
        answers = {
            **GOOD_ANSWERS,
            "incident": "yes",
            "incident_kind": "other",
            "incident_description": f"okapi-incident-{i}",
            "comment": f"zebra-comment-{i}",
            "minutes_saved": str(100 + i),
        }
        if i % 3 == 0:  # by the emailed link, through the page
            assert client.post(reverse("feedback_answer", args=[token]), answers).status_code == 302
            world.tokens.append(token)
        elif i % 3 == 1:  # from the inbox, logged in
            client.force_login(user)
            reply = client.post(reverse("feedback_prompt", args=[prompt.pk]), answers)
            assert reply.status_code == 302
            world.tokens.append(reply["Location"].split("/answer/")[1].split("/")[0])
            client.logout()
        else:  # by the domain function directly (what the API or a task would call)
            answering.submit_response(token=token, answers=answers)
            world.tokens.append(token)
        world.users.append(user)
        world.people.append((identifiers(user), words))
    return world


@pytest.fixture
def world(client, caplog) -> World:
    caplog.set_level(logging.DEBUG)
    built = build_world(client)
    built.log_text = "\n".join(  # type: ignore[attr-defined]
        f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records
    )
    return built


@pytest.fixture
def superuser():
    return UserFactory(username="root_inspector", is_staff=True, is_superuser=True)


# ---------------------------------------------------------------------------------------------
# The detector itself can fail


def test_the_detector_finds_a_name_next_to_an_answer():
    people = [({"alice"}, {"zebra-comment-0"}), ({"bob"}, {"zebra-comment-1"})]

    assert leaks(
        html_records("<table><tr><td>alice</td><td>zebra-comment-0</td></tr></table>"), people
    )
    assert leaks(json_records({"results": [{"who": "bob", "comment": "zebra-comment-1"}]}), people)
    assert leaks("bob,zebra-comment-1".splitlines(), people)
    assert not leaks(
        html_records(
            "<ul><li>alice</li><li>bob</li></ul>"
            "<ul><li>zebra-comment-1</li><li>zebra-comment-0</li></ul>"
        ),
        people,
    )
    assert not leaks(
        html_records('<select><option value="1">alice</option></select><p>zebra-comment-0</p>'),
        people,
    )


def test_the_world_really_holds_the_answers(world):
    assert Response.objects.filter(round=world.feedback_round).count() == RESPONDENTS
    texts = set(Answer.objects.values_list("text", flat=True))
    assert {f"zebra-comment-{i}" for i in range(RESPONDENTS)} <= texts


# ---------------------------------------------------------------------------------------------
# Database


def test_no_database_row_links_a_respondent_to_an_answer(world):
    user_model = get_user_model()
    respondent_pks = {u.pk for u in world.users}
    answer_models = {Response, Answer}
    offenders = []
    for model in apps.get_models():
        if model._meta.app_label not in {"feedback", "pilots"}:
            continue
        for row in model.objects.all().values():
            refs_person = False
            refs_answer = model in answer_models
            for f in model._meta.concrete_fields:
                value = row[f.attname]
                if f.is_relation and f.related_model is user_model and value in respondent_pks:
                    refs_person = True
                if f.is_relation and f.related_model in answer_models and value is not None:
                    refs_answer = True
            text = " ".join(map(str, row.values()))
            refs_person = refs_person or any(
                any(i in text for i in ids) for ids, _w in world.people
            )
            refs_answer = refs_answer or any(
                any(w in text for w in words) for _ids, words in world.people
            )
            if refs_person and refs_answer:
                offenders.append((model.__name__, row))
    assert offenders == []


def test_the_models_keep_no_link_from_a_prompt_to_a_response():
    for model in (Prompt, Response, Answer):
        for f in model._meta.get_fields():
            if f.is_relation and f.related_model is not None:
                assert {model, f.related_model} != {Prompt, Response}, f
                assert {model, f.related_model} != {Prompt, Answer}, f
    # No time on a response or answer, and none for "answered" on a prompt: times would match.
    for model in (Response, Answer):
        assert not [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, (models.DateTimeField, models.DateField))
        ]
    assert not [
        f.name for f in Prompt._meta.concrete_fields if "answer" in f.name and f.name != "answered"
    ]
    assert isinstance(Response._meta.pk, models.UUIDField)


def test_stored_hashes_do_not_join_prompts_to_responses(world):
    token_hashes = set(Prompt.objects.values_list("token_hash", flat=True))
    edit_hashes = set(Response.objects.values_list("edit_key_hash", flat=True))

    assert not Response.objects.filter(
        round=world.feedback_round, respondent__isnull=False
    ).exists()
    assert None not in edit_hashes
    assert token_hashes.isdisjoint(edit_hashes)
    assert all(
        uuid.UUID(str(pk)).version == 4 for pk in Response.objects.values_list("pk", flat=True)
    )


def test_no_session_keeps_a_token_or_a_response(world):
    secrets = set(world.tokens) | {str(pk) for pk in Response.objects.values_list("pk", flat=True)}
    for session in Session.objects.all():
        decoded = json.dumps(session.get_decoded())
        assert not [s for s in secrets if s in decoded]


# ---------------------------------------------------------------------------------------------
# Logs


def test_answering_logs_no_token_and_no_name(world):
    logged = world.log_text
    for token in world.tokens:
        assert token not in logged
    for ids, _words in world.people:
        assert not [i for i in ids if i in logged]


# ---------------------------------------------------------------------------------------------
# Admin: every registered ModelAdmin, its changelist and each object's change page


def admin_urls() -> list[tuple[str, bool]]:
    """(url, is_page_about_one_response) for every admin changelist and change page."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        try:
            urls.append((reverse("admin:{}_{}_changelist".format(*info)), False))
        except NoReverseMatch:
            continue
        about_response = model in (Response, Answer)
        for pk in model_admin.get_queryset(_FakeRequest()).values_list("pk", flat=True)[:30]:
            try:
                urls.append(
                    (reverse("admin:{}_{}_change".format(*info), args=[pk]), about_response)
                )
            except NoReverseMatch:
                break
    return urls


class _FakeRequest:
    """Just enough of a request for ModelAdmin.get_queryset."""

    def __init__(self) -> None:
        from django.contrib.auth.models import AnonymousUser

        self.user = AnonymousUser()
        self.GET: dict = {}


def test_no_admin_screen_shows_who_said_what(world, client, superuser):
    client.force_login(superuser)
    checked = 0
    for url, about_response in admin_urls():
        response = client.get(url)
        if response.status_code != 200:
            continue
        checked += 1
        records = records_of(response)
        if about_response:
            records = ["\n".join(records)]
        assert leaks(records, world.people) == [], url
    assert checked > 0


CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*"')


def admin_pages_with_filters() -> list[str]:
    """Every admin page of admin_urls(), plus each changelist filtered by each list_filter."""
    urls = [url for url, _about_response in admin_urls()]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        try:
            changelist = reverse("admin:{}_{}_changelist".format(*info))
        except NoReverseMatch:
            continue
        for spec in model_admin.list_filter:
            if isinstance(spec, str):
                urls += [f"{changelist}?{spec}__exact=1", f"{changelist}?{spec}__exact=0"]
    return urls


def admin_snapshot(client, urls: list[str]) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url)
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        )  # exports (the audit log, the incident register) are streamed
        text = body.decode() if response.status_code == 200 else ""
        pages[url] = f"{response.status_code} " + CSRF_VALUE.sub(r'\1"', text)
    return pages


def test_no_admin_screen_shows_which_participant_answered(client, superuser, time_machine):
    """Who answered, even without the answer, dates each answer: Ops comparing a list before
    and after an exposure incident's email would know who reported it. Swapping which of two
    participants answered (the counts stay the same) must change no admin page."""
    time_machine.move_to("2026-03-10 10:00:00+00:00", tick=False)
    feedback_round = pulse_round(anonymous=True)
    first, first_token = prompt_with_token(feedback_round, UserFactory(username="first_one"))
    second, _second_token = prompt_with_token(feedback_round, UserFactory(username="second_one"))
    answering.submit_response(token=first_token, answers=GOOD_ANSWERS)
    client.force_login(superuser)
    urls = admin_pages_with_filters()
    assert any(f"/prompt/{second.pk}/" in url for url in urls)
    before = admin_snapshot(client, urls)

    Prompt.objects.filter(pk=first.pk).update(answered=False)
    Prompt.objects.filter(pk=second.pk).update(answered=True)
    after = admin_snapshot(client, urls)

    assert [url for url in urls if before[url] != after[url]] == []
    assert any(page.startswith("200 ") for page in before.values())


# ---------------------------------------------------------------------------------------------
# Every named URL of the project (pages, API, exports)


def named_patterns(
    resolver: URLResolver | None = None, namespace: str = ""
) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, parameter names, converter names) of every named route outside the admin."""
    resolver = resolver or get_resolver()
    out = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns == "admin" or getattr(entry, "app_name", None) == "admin":
                continue
            out.extend(named_patterns(entry, f"{namespace}{ns}:" if ns else namespace))
        elif isinstance(entry, URLPattern) and entry.name:
            pattern = entry.pattern
            converters = {
                k: type(v).__name__ for k, v in getattr(pattern, "converters", {}).items()
            }
            params = list(re.compile(pattern.regex.pattern).groupindex)
            out.append((namespace + entry.name, params, converters))
    return out


def candidate_values(world: World, name: str, converter: str) -> list[Any]:
    round_ = world.feedback_round
    if name == "format":
        return ["json", "csv", "md"]
    if converter == "UUIDConverter":
        return list(Response.objects.values_list("pk", flat=True))
    ids = [
        round_.pilot_id,
        round_.pk,
        round_.questionnaire_id,
        round_.pilot.team_id,
        *(u.pk for u in world.users),
    ]
    if converter == "IntConverter" or name in {"pk", "id"} or name.endswith("_id"):
        return ids
    return [*world.tokens[:2], round_.pilot.team.slug, *map(str, ids)]


SKIP = {"logout", "set_language"}  # not GET pages


def project_urls(world: World) -> list[str]:
    urls: set[str] = set()
    for name, params, converters in named_patterns():
        if name.split(":")[-1] in SKIP:
            continue
        if not params:
            with contextlib.suppress(NoReverseMatch):
                urls.add(reverse(name))
            continue
        if len(params) > 2:
            continue
        first, *rest = params
        for value in candidate_values(world, first, converters.get(first, "")):
            kwargs = {first: value}
            for other in rest:
                kwargs[other] = candidate_values(world, other, converters.get(other, ""))[0]
            try:
                urls.add(reverse(name, kwargs=kwargs))
            except NoReverseMatch:
                continue
    return sorted(urls)


@pytest.mark.parametrize("viewer", ["superuser", "lead", "respondent"])
def test_no_page_api_or_export_shows_who_said_what(world, client, superuser, viewer):
    user = {
        "superuser": superuser,
        "lead": world.feedback_round.pilot.lead,
        "respondent": world.users[0],
    }[viewer]
    client.force_login(user)
    client.raise_request_exception = False  # a crashing page shows nothing; others test it
    checked = 0
    for url in project_urls(world):
        response = client.get(url)
        if response.status_code != 200:
            continue
        checked += 1
        assert leaks(records_of(response), world.people) == [], url
    assert checked > 3


# ---------------------------------------------------------------------------------------------
# PostgreSQL row versions


@pytest.mark.django_db(transaction=True)
def test_row_version_stamps_do_not_join_a_prompt_to_its_response(postgres, client):
    """xmin (the writing transaction's id) of a response must not single out one prompt."""
    from django.db import connection

    feedback_round = pulse_round(anonymous=True)
    people = [prompt_with_token(feedback_round, UserFactory()) for _ in range(4)]
    for _prompt, token in people[:3]:
        answering.submit_response(token=token, answers=GOOD_ANSWERS)
    user = people[3][0].participant
    answering.submit_response(prompt_id=people[3][0].pk, user=user, answers=GOOD_ANSWERS)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, xmin::text FROM feedback_prompt WHERE round_id = %s", [feedback_round.pk]
        )
        prompt_stamps = dict(cursor.fetchall())
        cursor.execute(
            "SELECT xmin::text FROM feedback_response WHERE round_id = %s", [feedback_round.pk]
        )
        response_stamps = [row[0] for row in cursor.fetchall()]

    assert len(response_stamps) == 4
    for stamp in response_stamps:
        matching = [pk for pk, s in prompt_stamps.items() if s == stamp]
        assert len(matching) in (0, len(prompt_stamps)), (stamp, matching)
