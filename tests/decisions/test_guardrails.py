"""Guardrails that act: breach records, the system's pause, the Ops email, resolution."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.exceptions import GateFailed, PermissionRefused, ValidationFailed
from decisions import evidence, guardrails
from decisions.guardrails import BreachAlreadyResolved
from pilots import breach_text, lifecycle
from pilots.models import Guardrail, GuardrailBreach, GuardrailCheck, Pilot, StageChange
from tests.decisions.evidence_support import add_round, scores
from tests.factories import GuardrailFactory, MetricGuardrailFactory, PilotFactory
from tests.followups_support import follow_up

pytestmark = pytest.mark.django_db

LOW_TRUST = [2, 2, 1, 3, 2, 2]  # mean 2 < 3


@pytest.fixture
def pilot(ops):  # ops: someone to email
    return PilotFactory(stage="pilot")


def test_a_broken_metric_guardrail_is_recorded_with_the_value_seen_and_the_round(pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    [breach] = guardrails.evaluate_round(r.pk)
    assert (breach.guardrail, breach.pilot, breach.round) == (guardrail, pilot, r)
    assert breach.observed_value == Decimal("2")
    assert "was 2; it must stay ≥ 3" in breach_text.describe(breach)
    assert breach.resolved_at is None


def test_a_round_that_met_the_threshold_records_each_guardrail_as_holding_broken_or_not_evaluated(
    pilot, settings
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    broken = MetricGuardrailFactory(pilot=pilot, description="Trust holds")
    holding = MetricGuardrailFactory(
        pilot=pilot, description="Quality holds", question_key="quality", threshold=2
    )
    # Its question got no answer in the round: it cannot be judged, and says so.
    unanswered = MetricGuardrailFactory(
        pilot=pilot, description="Errors stay low", question_key="minutes_saved", threshold=10
    )
    r = add_round(pilot, [{"trust": t, "quality": 4} for t in LOW_TRUST])  # 6 responses ≥ 5
    guardrails.evaluate_round(r.pk)
    outcomes = dict(GuardrailCheck.objects.filter(round=r).values_list("guardrail", "outcome"))
    assert outcomes == {
        broken.pk: "broken",
        holding.pk: "holding",
        unanswered.pk: "not_evaluated",
    }
    assert GuardrailCheck.objects.get(guardrail=holding).observed_value == Decimal("4")
    assert GuardrailCheck.objects.get(guardrail=unanswered).observed_value is None
    # Evaluating again records nothing twice.
    guardrails.evaluate_round(r.pk)
    assert GuardrailCheck.objects.filter(round=r).count() == 3


def test_a_round_below_the_threshold_records_no_check_but_still_breaches(pilot, settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    MetricGuardrailFactory(pilot=pilot)
    r = add_round(pilot, scores("trust", [1, 2]))
    [breach] = guardrails.evaluate_round(r.pk)
    assert not GuardrailCheck.objects.exists()
    assert breach.observed_value is None
    assert "withheld" in breach_text.describe(breach)


def test_a_breach_is_worded_in_the_language_of_whoever_reads_it(pilot):
    from django.utils import formats, translation

    MetricGuardrailFactory(pilot=pilot)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with translation.override("en"):
        [breach] = guardrails.evaluate_round(r.pk)
    date = r.period_start
    with translation.override("fr"):
        french = breach_text.describe(GuardrailBreach.objects.get(pk=breach.pk))
    with translation.override("en"):
        english = breach_text.describe(GuardrailBreach.objects.get(pk=breach.pk))
    months = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    assert f"{date.day} {months.split()[date.month - 1]} {date.year}" in french
    assert formats.date_format(date, "DATE_FORMAT") in english and french != english


def test_a_breach_recorded_before_its_facts_were_stored_keeps_its_words(pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot)
    old = GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, detail="Trust fell.")
    assert breach_text.describe(old) == "Trust fell."


def test_a_guardrail_that_holds_records_nothing(pilot):
    MetricGuardrailFactory(pilot=pilot)
    r = add_round(pilot, scores("trust", [3, 4, 5, 3, 4]))
    assert guardrails.evaluate_round(r.pk) == []
    assert not GuardrailBreach.objects.exists()


def test_a_pause_guardrail_pauses_the_pilot_as_the_system_with_the_breach_as_rationale(
    pilot, django_capture_on_commit_callbacks
):
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with django_capture_on_commit_callbacks(execute=True):
        [breach] = guardrails.evaluate_round(r.pk)
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from) == ("paused", "pilot")
    change = StageChange.objects.get(pilot=pilot)
    assert change.actor is None
    assert change.action == "pause"
    assert change.rationale == breach.detail
    assert change.evidence["breach"] == breach.pk


def test_evaluating_a_round_twice_records_one_breach_pauses_once_and_emails_once(
    pilot, django_capture_on_commit_callbacks, settings, celery_eager
):
    settings.OPS_EMAILS = ["oncall@example.com"]
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    for _ in range(2):  # the work a close asks for, done twice (a worker died after it)
        with django_capture_on_commit_callbacks(execute=True):
            assert follow_up("round_closed", round_id=r.pk) == "done"
    assert GuardrailBreach.objects.count() == 1
    assert StageChange.objects.filter(pilot=pilot, action="pause").count() == 1
    # One alert to each Ops recipient (each in their own email), and the lead told once.
    alerts = [m for m in mail.outbox if m.subject.startswith("Guardrail broken")]
    assert sorted(m.to[0] for m in alerts) == ["oncall@example.com", "ops@example.com"]
    assert [m.to[0] for m in mail.outbox if m not in alerts] == [pilot.lead.email]
    assert all(pilot.title in m.subject for m in mail.outbox)


def test_a_flag_guardrail_emails_ops_but_does_not_pause(
    pilot, django_capture_on_commit_callbacks, celery_eager
):
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with django_capture_on_commit_callbacks(execute=True):
        guardrails.evaluate_round(r.pk)
    pilot.refresh_from_db()
    assert pilot.stage == "pilot"
    assert len(mail.outbox) == 1


def test_below_the_anonymity_threshold_a_breach_acts_but_withholds_the_value(
    pilot, settings, django_capture_on_commit_callbacks, celery_eager
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    MetricGuardrailFactory(
        pilot=pilot,
        question_key="incident",
        statistic="yes_count",
        comparator="eq",
        threshold=Decimal("0"),
        description="No incident at all.",
    )
    r = add_round(pilot, [{"incident": True}, {"incident": False}, {"incident": False}])
    with django_capture_on_commit_callbacks(execute=True):
        [breach] = guardrails.evaluate_round(r.pk)
    assert breach.observed_value is None
    assert "withheld" in breach.detail
    pilot.refresh_from_db()
    assert pilot.stage == "paused"
    assert "withheld" in mail.outbox[0].body
    assert "1.00" not in mail.outbox[0].body


def test_a_yes_share_guardrail_compares_the_share_of_yes_answers(pilot):
    MetricGuardrailFactory(
        pilot=pilot,
        question_key="incident",
        statistic="yes_share",
        comparator="le",
        threshold=Decimal("0.2"),
        action="flag",
    )
    r = add_round(pilot, scores("incident", [True, True, False, False, False]))
    [breach] = guardrails.evaluate_round(r.pk)
    assert breach.observed_value == Decimal("0.4")


def test_an_open_round_is_not_evaluated(pilot):
    MetricGuardrailFactory(pilot=pilot)
    r = add_round(pilot, scores("trust", LOW_TRUST), closed=False)
    assert guardrails.evaluate_round(r.pk) == []
    assert guardrails.evaluate_round(999_999) == []


def test_a_confidential_data_exposure_breaches_every_guardrail_forbidding_it_at_once(
    pilot, django_capture_on_commit_callbacks, celery_eager
):
    forbids = GuardrailFactory(
        pilot=pilot,
        forbids_data_exposure=True,
        action="pause",
        description="No confidential data leaves the company.",
    )
    GuardrailFactory(pilot=pilot, description="A human reviews every output.")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert follow_up("exposure_reported", round_id=r.pk) == "done"
        again = guardrails.record_exposure_incident(r.pk)
    assert again == []
    breach = GuardrailBreach.objects.get()
    assert (breach.guardrail, breach.round, breach.observed_value) == (forbids, r, None)
    pilot.refresh_from_db()
    assert pilot.stage == "paused"
    assert StageChange.objects.get(pilot=pilot).rationale == breach.detail
    # One Ops alert, and the lead told of the pause (the one accepted leak of an open round).
    assert sorted(m.to[0] for m in mail.outbox) == ["ops@example.com", pilot.lead.email]


def test_an_exposure_task_without_such_an_incident_records_nothing(pilot):
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True)
    r = add_round(pilot, [{"incident": True, "incident_kind": "other"}], closed=False)
    assert guardrails.record_exposure_incident(r.pk) == []


def test_an_open_breach_blocks_promotion_and_only_an_override_with_rationale_passes(ops2):
    pilot = PilotFactory(stage="sandbox")
    MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    guardrails.evaluate_round(r.pk)
    with pytest.raises(GateFailed) as refused:
        lifecycle.move(pilot.pk, "promote", actor=ops2, expected_stage="sandbox")
    assert {g.key: g.status for g in refused.value.results}["no_open_breach"] == "failed"
    with pytest.raises(ValidationFailed) as no_reason:
        lifecycle.move(pilot.pk, "promote", actor=ops2, expected_stage="sandbox", override=True)
    assert no_reason.value.code == "override_rationale_required"
    change = lifecycle.move(
        pilot.pk,
        "promote",
        actor=ops2,
        expected_stage="sandbox",
        override=True,
        rationale="The breach was a data-entry error.",
    )
    assert change.overridden is True
    assert Pilot.objects.get(pk=pilot.pk).stage == "pilot"


def test_resolving_the_breach_unblocks_promotion(ops, ops2):
    pilot = PilotFactory(stage="sandbox")
    MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    [breach] = guardrails.evaluate_round(r.pk)
    resolved = guardrails.resolve_breach(breach.pk, actor=ops, note="Retrained the team.")
    assert (resolved.resolved_by, resolved.resolution_note) == (ops, "Retrained the team.")
    change = lifecycle.move(pilot.pk, "promote", actor=ops2, expected_stage="sandbox")
    assert change.overridden is False


def test_resolving_needs_ops_a_note_and_an_open_breach(pilot, ops, lead):
    MetricGuardrailFactory(pilot=pilot, action="flag")
    [breach] = guardrails.evaluate_round(add_round(pilot, scores("trust", LOW_TRUST)).pk)
    with pytest.raises(PermissionRefused):
        guardrails.resolve_breach(breach.pk, actor=lead, note="Fine")
    with pytest.raises(ValidationFailed) as no_note:
        guardrails.resolve_breach(breach.pk, actor=ops, note="  ")
    assert (no_note.value.code, no_note.value.field) == ("note_required", "note")
    guardrails.resolve_breach(breach.pk, actor=ops, note="Done")
    with pytest.raises(BreachAlreadyResolved) as twice:
        guardrails.resolve_breach(breach.pk, actor=ops, note="Again")
    assert twice.value.code == "breach_already_resolved"
    assert GuardrailBreach.objects.get().resolution_note == "Done"


def test_the_database_refuses_a_second_breach_of_a_guardrail_in_the_same_round(pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, round=r)
    with pytest.raises(
        IntegrityError,
        # PostgreSQL names the constraint; SQLite names its columns.
        match=r"pilots_guardrailbreach_once_per_round|pilots_guardrailbreach\.guardrail_id",
    ):
        GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, round=r)


def test_the_database_refuses_a_resolution_without_a_note(pilot):
    guardrail = MetricGuardrailFactory(pilot=pilot, action="flag")
    with pytest.raises(IntegrityError, match="pilots_guardrailbreach_resolution_has_note"):
        GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, resolved_at=timezone.now())


def test_ops_resolve_breaches_from_the_admin_with_a_note(client, ops, pilot):
    MetricGuardrailFactory(pilot=pilot, action="flag")
    [breach] = guardrails.evaluate_round(add_round(pilot, scores("trust", LOW_TRUST)).pk)
    client.force_login(ops)
    url = reverse("admin:pilots_guardrailbreach_changelist")
    listing = client.get(url)
    assert listing.status_code == 200
    assert pilot.title in listing.content.decode()
    assert "Flagged to Ops" in listing.content.decode()  # what the system did
    refused = client.get(url, {"action_taken__exact": "pause_refused"}).content.decode()
    assert pilot.title not in refused
    detail = client.get(reverse("admin:pilots_guardrailbreach_change", args=[breach.pk]))
    assert "Flagged to Ops" in detail.content.decode()
    asked = client.post(url, {"action": "resolve", "_selected_action": [breach.pk]})
    assert asked.status_code == 200
    assert "Resolution note" in asked.content.decode()
    empty = client.post(
        url, {"action": "resolve", "_selected_action": [breach.pk], "confirm": "yes", "note": ""}
    )
    assert "Write a note" in empty.content.decode()
    done = client.post(
        url,
        {
            "action": "resolve",
            "_selected_action": [breach.pk],
            "confirm": "yes",
            "note": "Talked to the team.",
        },
    )
    assert done.status_code == 302
    breach.refresh_from_db()
    assert (breach.resolved_by, breach.resolution_note) == (ops, "Talked to the team.")


def test_the_admin_offers_no_add_or_delete_of_breaches(client, ops):
    client.force_login(ops)
    assert client.get(reverse("admin:pilots_guardrailbreach_add")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_the_same_round_record_one_breach_and_one_pause(postgres):
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action="pause")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            barrier.wait(timeout=10)
            guardrails.evaluate_round(r.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert GuardrailBreach.objects.count() == 1
    assert StageChange.objects.filter(pilot=pilot, action="pause").count() == 1
    with transaction.atomic():
        assert Pilot.objects.get(pk=pilot.pk).stage == "paused"


def test_a_refused_pause_still_leaves_the_breach_on_record_and_emails_ops(
    pilot, monkeypatch, django_capture_on_commit_callbacks, celery_eager
):
    from core.exceptions import IllegalTransition

    def refuse(*args, **kwargs):
        raise IllegalTransition("Not from here.")

    monkeypatch.setattr(lifecycle, "move", refuse)
    MetricGuardrailFactory(pilot=pilot, action="pause")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with django_capture_on_commit_callbacks(execute=True):
        [breach] = guardrails.evaluate_round(r.pk)
    assert GuardrailBreach.objects.get() == breach
    assert Pilot.objects.get(pk=pilot.pk).stage == "pilot"
    assert len(mail.outbox) == 1
    # What happened, not what the guardrail meant to do.
    assert GuardrailBreach.objects.get().action_taken == "pause_refused"
    body = mail.outbox[0].body
    assert "Action taken: Pause refused: the pilot is still running." in body
    assert "Pilot paused" not in body and "Action: Pause" not in body
    page = render_to_string("pilots/_evidence.html", evidence.page_context(pilot))
    assert "Pause refused: the pilot is still running" in page
    assert "pauses the pilot" not in page and "Pilot paused" not in page


@pytest.mark.parametrize(
    ("action", "stage", "taken", "label"),
    [
        ("pause", "pilot", "paused", "Pilot paused"),
        ("flag", "pilot", "flagged", "Flagged to Ops"),
        ("pause", "paused", "not_running", "Nothing to pause: the pilot was not running"),
    ],
)
def test_the_breach_records_what_the_system_did_and_the_email_and_page_say_it(
    ops, action, stage, taken, label, django_capture_on_commit_callbacks, celery_eager
):
    pilot = PilotFactory(stage=stage, **({"paused_from": "pilot"} if stage == "paused" else {}))
    MetricGuardrailFactory(pilot=pilot, action=action)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    with django_capture_on_commit_callbacks(execute=True):
        guardrails.evaluate_round(r.pk)
    breach = GuardrailBreach.objects.get()
    assert breach.action_taken == taken
    assert f"Action taken: {label}." in mail.outbox[0].body
    page = render_to_string("pilots/_evidence.html", evidence.page_context(pilot))
    assert f'class="breach-action breach-action-{taken}">{label}</span>' in page


def test_resolving_a_breach_that_does_not_exist_is_refused(ops):
    with pytest.raises(ValidationFailed) as missing:
        guardrails.resolve_breach(999_999, actor=ops, note="Done")
    assert missing.value.code == "breach_not_found"


# --- A further exposure after a resolution; metric breaches stay once per round ------------


def _report_exposure(feedback_round) -> None:
    """One more response to the round reporting a confidential data exposure."""
    from feedback.models import Answer, Question, Response

    kind = Question.objects.get(
        questionnaire_id=feedback_round.questionnaire_id, key="incident_kind"
    )
    incident = Question.objects.get(
        questionnaire_id=feedback_round.questionnaire_id, key="incident"
    )
    response = Response.objects.create(round=feedback_round)
    Answer.objects.create(response=response, question=incident, boolean=True)
    Answer.objects.create(response=response, question=kind, text="confidential_data_exposed")


def test_a_further_exposure_in_the_same_round_after_a_resolution_is_a_new_breach(
    pilot, ops, django_capture_on_commit_callbacks, celery_eager
):
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="flag")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        [first] = guardrails.record_exposure_incident(r.pk)
    guardrails.resolve_breach(first.pk, actor=ops, note="Rotated the leaked key.")
    # The same report again (a repeated task) is already on record.
    assert guardrails.record_exposure_incident(r.pk) == []
    _report_exposure(r)
    with django_capture_on_commit_callbacks(execute=True):
        [second] = guardrails.record_exposure_incident(r.pk)
        again = guardrails.record_exposure_incident(r.pk)
    assert again == []
    assert second.pk != first.pk
    assert (second.round, second.trigger, second.exposure_reports) == (r, "exposure", 2)
    assert list(GuardrailBreach.objects.open()) == [second]
    assert len(mail.outbox) == 2


def test_a_further_exposure_while_the_breach_is_open_adds_no_second_breach(pilot):
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="flag")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    guardrails.record_exposure_incident(r.pk)
    _report_exposure(r)
    assert guardrails.record_exposure_incident(r.pk) == []
    assert GuardrailBreach.objects.count() == 1


def test_a_resolved_metric_breach_is_not_recorded_again_when_the_round_is_re_evaluated(pilot, ops):
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    [breach] = guardrails.evaluate_round(r.pk)
    guardrails.resolve_breach(breach.pk, actor=ops, note="Retrained the team.")
    assert guardrails.evaluate_round(r.pk) == []
    assert GuardrailBreach.objects.count() == 1


def test_the_database_refuses_a_second_metric_breach_of_a_round_even_once_resolved(pilot, ops):
    guardrail = MetricGuardrailFactory(pilot=pilot, action="flag")
    r = add_round(pilot, scores("trust", LOW_TRUST))
    GuardrailBreach.objects.create(
        guardrail=guardrail,
        pilot=pilot,
        round=r,
        resolved_at=timezone.now(),
        resolved_by=ops,
        resolution_note="Done",
    )
    with pytest.raises(
        IntegrityError,
        match=r"pilots_guardrailbreach_once_per_round|pilots_guardrailbreach\.guardrail_id",
    ):
        GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, round=r)


def test_the_database_refuses_two_open_exposure_breaches_of_a_round_but_allows_a_resolved_one(
    pilot, ops
):
    guardrail = GuardrailFactory(pilot=pilot, forbids_data_exposure=True)
    r = add_round(pilot, scores("trust", LOW_TRUST))
    exposure = {"guardrail": guardrail, "pilot": pilot, "round": r, "trigger": "exposure"}
    GuardrailBreach.objects.create(
        **exposure, resolved_at=timezone.now(), resolved_by=ops, resolution_note="Done"
    )
    GuardrailBreach.objects.create(**exposure)
    with (
        pytest.raises(
            IntegrityError,
            match=r"pilots_guardrailbreach_exposure_one_open_per_round|"
            r"pilots_guardrailbreach\.guardrail_id",
        ),
        transaction.atomic(),
    ):
        GuardrailBreach.objects.create(**exposure)
    assert GuardrailBreach.objects.filter(round=r).count() == 2


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("trigger", "magic", "pilots_guardrailbreach_trigger_valid"),
        ("action_taken", "shrugged", "pilots_guardrailbreach_action_taken_valid"),
    ],
)
def test_the_database_refuses_an_unknown_trigger_or_action_taken(pilot, field, value, constraint):
    guardrail = MetricGuardrailFactory(pilot=pilot)
    with pytest.raises(IntegrityError, match=constraint):
        GuardrailBreach.objects.create(guardrail=guardrail, pilot=pilot, **{field: value})


@pytest.mark.django_db(transaction=True)
def test_two_workers_recording_the_same_exposure_after_a_resolution_open_one_breach(postgres, ops):
    pilot = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="flag")
    r = add_round(
        pilot, [{"incident": True, "incident_kind": "confidential_data_exposed"}], closed=False
    )
    [first] = guardrails.record_exposure_incident(r.pk)
    guardrails.resolve_breach(first.pk, actor=ops, note="Rotated the leaked key.")
    _report_exposure(r)
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            barrier.wait(timeout=10)
            guardrails.record_exposure_incident(r.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert GuardrailBreach.objects.filter(round=r).count() == 2
    assert GuardrailBreach.objects.open().count() == 1


def test_the_pilot_page_says_whether_each_guardrail_is_holding_broken_or_not_evaluated(
    client, pilot, ops, settings
):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    MetricGuardrailFactory(pilot=pilot, description="Trust holds", action=Guardrail.Action.FLAG)
    MetricGuardrailFactory(
        pilot=pilot, description="Quality holds", question_key="quality", threshold=2
    )
    MetricGuardrailFactory(
        pilot=pilot, description="Minutes stay", question_key="minutes_saved", threshold=1
    )
    GuardrailFactory(pilot=pilot, description="A human reads every reply")
    r = add_round(pilot, [{"trust": t, "quality": 4} for t in LOW_TRUST])
    guardrails.evaluate_round(r.pk)
    client.force_login(ops)
    html = client.get(reverse("pilot_detail", args=[pilot.pk])).content.decode()
    section = html.split('id="h-guardrails"')[1].split("</section>")[0]
    items = section.split("<li>")[1:]

    def status(description: str) -> str | None:
        [li] = [item for item in items if description in item]
        return li.split('class="badge status-')[1].split('"')[0] if "badge status-" in li else None

    assert status("Trust holds") == "broken"
    assert status("Quality holds") == "holding"
    assert status("Minutes stay") == "not_evaluated"
    assert status("A human reads every reply") is None  # no system checks a plain rule
