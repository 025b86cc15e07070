"""Attacks on the anonymity of an anonymous pilot, written as an attacker would run them.

Each test is an attack that worked before: a ladder of guardrails on a small round, counts and
free text below the threshold, polling while a round is open, and the physical order of rows
in a copy of the database. Each must now learn nothing beyond what the README's anonymity rules
allow.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from rest_framework.test import APIClient

from core.exceptions import ValidationFailed
from core.models import Delivery
from decisions import guardrails
from feedback import answering, scheduling
from feedback.models import FeedbackRound
from pilots import breach_text, measures
from pilots.models import Guardrail, GuardrailBreach
from tests.factories import MetricGuardrailFactory, UserFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round
from tests.pilots.admin_support import change_form_data

pytestmark = pytest.mark.django_db


def answer(feedback_round: FeedbackRound, **given) -> str:
    _prompt, token = prompt_with_token(feedback_round, UserFactory())
    answering.submit_response(token=token, answers={**GOOD_ANSWERS, **given})
    return token


def everything_ops_can_read(client, pilot) -> str:
    """The pilot page, the report, its exports, the APIs and the breach admin, as one text."""
    api = APIClient()
    api.force_authenticate(client.session_user)
    pages = [
        client.get(reverse("pilot_detail", args=[pilot.pk])),
        client.get(reverse("pilot_report", args=[pilot.pk])),
        client.get(reverse("pilot_report_markdown", args=[pilot.pk])),
        client.get(reverse("pilot_report_csv", args=[pilot.pk])),
        client.get(reverse("home")),
        client.get(reverse("admin:pilots_guardrailbreach_changelist")),
        api.get(f"/api/evidence/{pilot.pk}/"),
        api.get(f"/api/rounds/?pilot={pilot.pk}"),
    ]
    pages += [
        client.get(reverse("admin:pilots_guardrailbreach_change", args=[b.pk]))
        for b in GuardrailBreach.objects.filter(pilot=pilot)
    ]
    return "\n".join(p.content.decode() for p in pages)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    client.session_user = ops
    return client


# --- 1. The guardrail ladder -----------------------------------------------------------------


LADDER = (2, 3, 4, 5)


def test_a_ladder_of_thresholds_on_one_statistic_cannot_be_written(lead, team):
    """Four "mean of quality ≥ n" rules would tell, from which break, what two people said."""
    from pilots import proposals

    rows = [
        {
            "kind": "metric",
            "description": f"Quality ≥ {n}",
            "question_key": "quality",
            "statistic": "mean",
            "comparator": "ge",
            "threshold": Decimal(n),
        }
        for n in LADDER
    ]
    with pytest.raises(ValidationFailed) as refused:
        proposals._validate(team, proposals.Proposal(fields={}, guardrails=rows))
    assert (refused.value.code, refused.value.field) == (
        "duplicate_guardrail",
        "guardrails-1-statistic",
    )


def test_the_database_refuses_a_second_guardrail_on_the_same_statistic(settings):
    feedback_round = pulse_round()
    MetricGuardrailFactory(pilot=feedback_round.pilot, question_key="quality", threshold=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricGuardrailFactory(pilot=feedback_round.pilot, question_key="quality", threshold=3)


def test_once_a_round_is_answered_no_guardrail_is_added_or_tightened_even_in_the_database():
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    watched = MetricGuardrailFactory(pilot=pilot, question_key="quality", threshold=2)
    answer(feedback_round, quality="3")

    with pytest.raises(DatabaseError), transaction.atomic():
        Guardrail.objects.create(
            pilot=pilot,
            kind="metric",
            description="Quality ≥ 4",
            question_key="quality",
            statistic="yes_share",
            comparator="ge",
            threshold=4,
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        Guardrail.objects.filter(pk=watched.pk).update(threshold=4)
    with pytest.raises(DatabaseError), transaction.atomic():
        Guardrail.objects.filter(pk=watched.pk).delete()
    # Disabling, with a reason, is what Ops may still do.
    measures.disable_guardrail(
        watched.pk, actor=UserFactory(is_superuser=True), reason="Wrong question."
    )
    watched.refresh_from_db()
    assert watched.disabled_at is not None and watched.threshold == 2
    with pytest.raises(DatabaseError), transaction.atomic():
        Guardrail.objects.filter(pk=watched.pk).update(disabled_at=None, disabled_reason="")


def test_ops_cannot_add_a_guardrail_to_a_running_pilot_in_the_admin(ops_client):
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    answer(feedback_round, quality="3")
    data = change_form_data(ops_client, pilot)
    data.update(
        {
            "guardrails-TOTAL_FORMS": "1",
            "guardrails-0-kind": "metric",
            "guardrails-0-description": "Quality ≥ 4",
            "guardrails-0-question_key": "quality",
            "guardrails-0-statistic": "mean",
            "guardrails-0-comparator": "ge",
            "guardrails-0-threshold": "4",
            "guardrails-0-action": "flag",
        }
    )
    ops_client.post(reverse("admin:pilots_pilot_change", args=[pilot.pk]), data)
    assert not pilot.guardrails.exists()


@pytest.mark.parametrize("answers", [1, 2])
def test_a_breach_on_too_few_answers_names_no_rule_on_any_surface(answers, ops_client, settings):
    """Rules on one or two answers, broken or not, must not tell Ops what was answered."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    rules = {
        key: MetricGuardrailFactory(
            pilot=pilot,
            description=f"Secret rule on {key}",
            question_key=key,
            threshold=4,
            action="flag",
        )
        for key in ("quality", "trust")
    }
    for _ in range(answers):
        answer(feedback_round, quality="3", trust="5")  # quality breaks, trust holds
    scheduling.close_round(feedback_round.pk)
    guardrails.evaluate_round(feedback_round.pk)

    [breach] = GuardrailBreach.objects.filter(pilot=pilot)
    assert breach.is_withheld and breach.observed_value is None
    # The rules themselves are public (the pilot page lists them); which one broke is not.
    api = APIClient()
    api.force_authenticate(ops_client.session_user)
    statuses = {
        g["description"]: g["status"]
        for g in api.get(f"/api/evidence/{pilot.pk}/").json()["guardrails"]
    }
    assert statuses["Secret rule on quality"] == statuses["Secret rule on trust"]
    page = ops_client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    listed = page.split('id="h-guardrails"')[1].split("</section>")[0]
    assert "status-broken" not in listed
    about_breaches = "\n".join(
        [
            page.split('class="breaches"')[1].split("</div>")[0],
            ops_client.get(reverse("home")).content.decode(),
            ops_client.get(reverse("admin:pilots_guardrailbreach_changelist")).content.decode(),
            ops_client.get(
                reverse("admin:pilots_guardrailbreach_change", args=[breach.pk])
            ).content.decode(),
        ]
    )
    # Searching the breaches by the rule's words finds nothing either.
    searched = ops_client.get(reverse("admin:pilots_guardrailbreach_changelist") + "?q=Secret")
    assert searched.context["cl"].result_count == 0
    assert "Secret rule" not in about_breaches
    assert "A guardrail of this pilot broke" in about_breaches
    # The email to Ops says no more.
    from django.core import mail

    from core import outbox

    outbox.deliver(
        Delivery.objects.filter(kind=guardrails.BREACH_ALERT).values_list("pk", flat=True)
    )
    assert mail.outbox and all("Secret rule" not in m.body for m in mail.outbox)
    assert not pilot.guardrails.filter(pk=rules["trust"].pk, checks__isnull=False).exists()


def test_in_a_round_that_met_the_threshold_a_breach_names_its_rule_and_value(ops_client, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    MetricGuardrailFactory(
        pilot=feedback_round.pilot, description="Quality stays", question_key="quality"
    )
    for _ in range(5):
        answer(feedback_round, quality="2")
    scheduling.close_round(feedback_round.pk)
    [breach] = guardrails.evaluate_round(feedback_round.pk)
    assert not breach.is_withheld
    assert "Quality stays" in breach_text.describe(breach) and "was 2" in breach_text.describe(
        breach
    )


# --- 2 and 3. Counts and free text below the threshold ---------------------------------------


def test_a_three_person_round_publishes_no_question_count_anywhere(ops_client, settings):
    """`incident_kind n=1` in a round of three said that one of them reported an incident."""
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    pilot = feedback_round.pilot
    answer(feedback_round)
    answer(feedback_round)
    answer(feedback_round, incident="yes", incident_kind="other", incident_description="Oops")
    scheduling.close_round(feedback_round.pk)

    results = FeedbackRound.objects.get(pk=feedback_round.pk).results
    assert results["questions"] == [] and results["responses"] == 3
    api = APIClient()
    api.force_authenticate(ops_client.session_user)
    data = api.get(f"/api/rounds/{feedback_round.pk}/").json()
    assert "incident_kind" not in json.dumps(data)
    rows = list(
        csv.DictReader(
            io.StringIO(
                ops_client.get(reverse("pilot_report_csv", args=[pilot.pk])).content.decode()
            )
        )
    )
    assert all(r["answers"] == "" for r in rows)
    assert "Oops" not in everything_ops_can_read(ops_client, pilot)


def test_the_one_description_of_a_withheld_incident_is_not_quoted(ops_client, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round()
    for i in range(6):
        answer(feedback_round, comment=f"Fine, thanks {i}")
    answer(
        feedback_round,
        incident="yes",
        incident_kind="other",
        incident_description="I pasted the client's file in it",
    )
    scheduling.close_round(feedback_round.pk)
    seen = everything_ops_can_read(ops_client, feedback_round.pilot)
    assert "Fine, thanks 3" in seen  # comments of a question with enough answers are shown
    assert "pasted the client" not in seen
    results = FeedbackRound.objects.get(pk=feedback_round.pk).results
    by_key = {q["key"]: q for q in results["questions"]}
    assert "n" not in by_key["incident_kind"] and "n" not in by_key["incident_description"]
    assert by_key["incident"]["n"] == 7  # a count that meets the threshold is shown


def test_a_withheld_question_reads_the_same_whether_nobody_or_a_few_answered(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    rounds = []
    for reporters in (0, 2):
        feedback_round = pulse_round()
        for i in range(6):
            answer(
                feedback_round,
                **({"incident": "yes", "incident_kind": "other"} if i < reporters else {}),
            )
        scheduling.close_round(feedback_round.pk)
        rounds.append(FeedbackRound.objects.get(pk=feedback_round.pk).results)
    kinds = [{q["key"]: q for q in r["questions"]}["incident_kind"] for r in rounds]
    assert kinds[0] == kinds[1]


def test_database_vendor_is_known():
    assert connection.vendor in ("sqlite", "postgresql")


# --- 4. Timing: polling every surface while an anonymous round is open ----------------------


def _surfaces(world, admin: bool) -> list[str]:
    """Every named page, API and export, and (for Ops) every admin screen of pilots and
    feedback with its filters: what an observer would poll."""
    from tests.feedback.test_anonymity import admin_pages_with_filters, project_urls

    # Not the OpenAPI documents: generated from the code alone (the same whatever the data,
    # checked by schemathesis), they cost half a second each on every poll.
    urls = [url for url in project_urls(world) if not url.endswith("/schema/")]
    if admin:
        urls += [
            url
            for url in admin_pages_with_filters()
            if url.startswith(("/admin/pilots/", "/admin/feedback/"))
        ]
    return sorted(set(urls))


def test_polling_every_surface_while_a_round_is_open_learns_only_the_threshold_and_an_exposure(
    client, settings, time_machine, django_capture_on_commit_callbacks, celery_eager
):
    """(responses, breaches) polled between answers used to date each answer: (1,0) → (2,1)
    told Ops the second one reported the exposure. Now every page, API, export and admin
    screen reads the same after each answer, except when the round reaches the threshold and
    when an exposure is reported (the one accepted leak: safety comes first)."""
    from tests.factories import GuardrailFactory, ParticipationFactory
    from tests.feedback.test_anonymity import World

    time_machine.move_to("2026-03-10 10:00:00+00:00", tick=False)
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    feedback_round = pulse_round(anonymous=True)
    pilot = feedback_round.pilot
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, description="No client data")
    people = []
    for i in range(9):
        user = UserFactory(username=f"person{i}")
        ParticipationFactory(pilot=pilot, user=user)
        people.append((user, *prompt_with_token(feedback_round, user)))
    onlooker, _prompt, onlooker_token = people[-1]  # a participant who never answers
    # The ids an observer would try: the pilot's, the round's, two people's (one answers).
    world = World(feedback_round, users=[people[0][0], onlooker], tokens=[onlooker_token])
    from django.test import Client

    from tests.feedback.test_anonymity import admin_snapshot

    ops = UserFactory(username="root_inspector", is_staff=True, is_superuser=True)
    viewers = {}
    for viewer, admin in ((ops, True), (pilot.lead, False), (onlooker, False)):
        browser = Client()
        browser.force_login(viewer)  # once: a sign-in is not what is being watched
        viewers[viewer.username] = (browser, _surfaces(world, admin))

    def snapshot() -> dict:
        return {name: admin_snapshot(browser, urls) for name, (browser, urls) in viewers.items()}

    def changed(before: dict, after: dict) -> list[str]:
        return [
            f"{viewer} {url}"
            for viewer, pages in before.items()
            for url, page in pages.items()
            if after[viewer][url] != page
        ]

    def answer_as(index: int, **given) -> None:
        _user, _prompt, token = people[index]
        with django_capture_on_commit_callbacks(execute=True):
            answering.submit_response(token=token, answers={**GOOD_ANSWERS, **given})

    baseline = snapshot()
    assert sum(len(pages) for pages in baseline.values()) > 60
    for i in range(4):  # below the threshold: nothing moves
        answer_as(i)
    # Looked at once, after the fourth: whatever moves with the answers below the threshold
    # (a count, a date, a list) has moved by then, since the clock stands still.
    assert changed(baseline, snapshot()) == []
    answer_as(4)  # the fifth: the round has enough answers, and says only that
    at_threshold = snapshot()
    moved = changed(baseline, at_threshold)
    assert moved and all(f"/pilots/{pilot.pk}/" in m for m in moved), moved
    answer_as(5, incident="yes", incident_kind="confidential_data_exposed")
    after_exposure = snapshot()
    assert changed(at_threshold, after_exposure)  # the accepted leak: alert and pause
    assert GuardrailBreach.objects.filter(pilot=pilot, trigger="exposure").count() == 1
    answer_as(6)
    answer_as(7, incident="yes", incident_kind="confidential_data_exposed")
    assert changed(after_exposure, snapshot()) == []  # a further report on an open breach


# --- 5. Row order in a copy of the database ---------------------------------------------------


def _physical_order(table: str, round_id: int, column: str = "id") -> list:
    position = "ctid" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE round_id = %s ORDER BY {position}",  # noqa: S608
            [round_id],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_copy_of_the_database_after_close_pairs_no_prompt_with_its_response():
    """Rows sat in answer order: the n-th answered prompt (by position) was the n-th response.
    After the close, positions, row stamps and keys say nothing; read as pg_dump or a copy of
    the SQLite file would (ctid / rowid order), on each database."""
    from feedback.models import Prompt, Response

    feedback_round = pulse_round()
    people = [prompt_with_token(feedback_round, UserFactory()) for _ in range(12)]
    answered_prompts, responses_in_answer_order = [], []
    for prompt, token in people:
        answering.submit_response(token=token, answers=GOOD_ANSWERS)
        answered_prompts.append(prompt.pk)
        known = set(responses_in_answer_order)
        [new] = [
            pk
            for pk in Response.objects.filter(round=feedback_round).values_list("pk", flat=True)
            if pk not in known
        ]
        responses_in_answer_order.append(new)
    # Before the close the rows sit in answer order: the attack works on an open round's copy
    # (out of scope, the README says), and shows what the close must undo.
    responses_now = [str(pk).replace("-", "") for pk in responses_in_answer_order]
    stored_now = [
        str(pk).replace("-", "") for pk in _physical_order("feedback_response", feedback_round.pk)
    ]
    assert stored_now == responses_now

    scheduling.close_round(feedback_round.pk)

    stored = [
        str(pk).replace("-", "") for pk in _physical_order("feedback_response", feedback_round.pk)
    ]
    assert sorted(stored) == sorted(responses_now)  # every response kept…
    assert stored != responses_now  # …in an order that is not the answer order
    prompts = _physical_order("feedback_prompt", feedback_round.pk)
    assert sorted(prompts) == sorted(answered_prompts)
    if connection.vendor == "postgresql":
        assert prompts != answered_prompts  # rewritten in a random order too
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT xmin::text FROM feedback_prompt WHERE round_id = %s"
                " UNION SELECT DISTINCT xmin::text FROM feedback_response WHERE round_id = %s",
                [feedback_round.pk, feedback_round.pk],
            )
            assert len(cursor.fetchall()) == 1  # one stamp for every row: the close's
    # The edit keys (a hash of the answer link) are gone: nothing left to edit.
    assert not Response.objects.filter(round=feedback_round, edit_key_hash__isnull=False)
    # Answers still belong to their responses, and the results are untouched.
    assert Response.objects.filter(round=feedback_round).count() == 12
    assert all(
        r.answers.count() == len(GOOD_ANSWERS)
        for r in Response.objects.filter(round=feedback_round)
    )
    assert Prompt.objects.filter(round=feedback_round, answered=True).count() == 12


def test_deleted_rows_are_overwritten_in_the_sqlite_file():
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting; PostgreSQL's files and WAL are out of scope (README)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1
