"""Guardrails at the shapes `make mutation` found unbuilt: two pausing guardrails broken in
the same round, resolving a breach (its history, announcement and refusals), exposure reports
(which answers and rounds count, a late task, a resolved breach among open ones), exposure
incidents (their own pilot, their kind), a withheld breach beside a named one."""

import pytest
from django.core import mail
from django.utils import timezone

from core import followups
from core.exceptions import PermissionRefused, ValidationFailed
from core.models import ChangeRecord, FollowUp
from decisions import guardrails
from pilots.models import (
    BREACH_RESOLVED,
    Guardrail,
    GuardrailBreach,
    GuardrailCheck,
    StageChange,
)
from tests.decisions.evidence_support import add_round
from tests.factories import GuardrailFactory, MetricGuardrailFactory, PilotFactory

pytestmark = pytest.mark.django_db


def test_two_pausing_guardrails_broken_in_one_round_pause_once_and_both_breaches_are_recorded(
    ops, django_capture_on_commit_callbacks, celery_eager
):
    pilot = PilotFactory(stage="pilot")
    trust = MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    quality = MetricGuardrailFactory(
        pilot=pilot,
        action=Guardrail.Action.PAUSE,
        description="Quality must stay at 3 or above.",
        question_key="quality",
    )
    r = add_round(pilot, [{"trust": 2, "quality": 1} for _ in range(6)])
    with django_capture_on_commit_callbacks(execute=True):
        created = guardrails.evaluate_round(r.pk)
    assert len(created) == 2
    pilot.refresh_from_db()
    assert (pilot.stage, pilot.paused_from) == ("paused", "pilot")
    [pause] = StageChange.objects.filter(pilot=pilot)
    assert (pause.action, pause.actor) == ("pause", None)
    breaches = {b.guardrail_id: b for b in GuardrailBreach.objects.all()}
    assert set(breaches) == {trust.pk, quality.pk}
    # The first breach paused the pilot; the second found it no longer running.
    paused = GuardrailBreach.objects.get(pk=pause.evidence["breach"])
    assert paused.action_taken == "paused"
    [other] = [b for b in breaches.values() if b.pk != paused.pk]
    assert other.action_taken == "not_running"
    # Ops hear of both breaches.
    alerts = [m for m in mail.outbox if m.subject.startswith("Guardrail broken")]
    assert len(alerts) == 2


def test_resolving_a_breach_is_recorded_in_the_pilots_history_and_announced(ops):
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    guardrails.resolve_breach(breach.pk, actor=ops, note="Retrained the team.")
    breach.refresh_from_db()
    assert (breach.resolved_by, breach.resolution_note) == (ops, "Retrained the team.")
    assert breach.resolved_at is not None
    [record] = ChangeRecord.objects.filter(subject_id=str(breach.pk), action="breach.resolved")
    assert (record.actor, record.scope_id, record.changes, record.reason) == (
        ops,
        pilot.pk,
        {"resolved": [False, True]},
        "Retrained the team.",
    )
    # Whoever listens (webhooks) is told which breach was resolved.
    listeners = followups._subscribers[BREACH_RESOLVED]
    assert listeners
    announced = {f.kind: f.payload for f in FollowUp.objects.filter(key=f"breach:{breach.pk}")}
    for kind in listeners:
        assert announced[kind] == {"breach_id": breach.pk}


def test_refusals_to_resolve_say_why_on_the_note(ops, lead):
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    with pytest.raises(PermissionRefused, match=r"^Only Ops can resolve a guardrail breach\.$"):
        guardrails.resolve_breach(breach.pk, actor=lead, note="Fine")
    with pytest.raises(
        ValidationFailed, match=r"^Write a note saying how the breach was resolved\.$"
    ):
        guardrails.resolve_breach(breach.pk, actor=ops, note=" ")
    with pytest.raises(ValidationFailed, match=r"^This breach does not exist\.$") as missing:
        guardrails.resolve_breach(breach.pk + 1000, actor=ops, note="Done")
    assert missing.value.code == "breach_not_found"
    guardrails.resolve_breach(breach.pk, actor=ops, note="Done")
    with pytest.raises(
        guardrails.BreachAlreadyResolved,
        match=r"^This breach was already resolved by someone else\.$",
    ) as twice:
        guardrails.resolve_breach(breach.pk, actor=ops, note="Again")
    assert twice.value.field == "note"


def test_a_round_is_judged_on_its_own_answers_not_an_earlier_rounds(settings):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 3
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)  # trust ≥ 3
    add_round(pilot, [{"trust": 1, "quality": 1}] * 6, weeks_ago=2)
    # This round's trust holds (mean 4); with last round's answers it would be 2.5.
    later = add_round(pilot, [{"trust": 4, "quality": 1}] * 6)
    assert guardrails.evaluate_round(later.pk) == []
    [check] = GuardrailCheck.objects.filter(round=later)
    assert (check.outcome, check.observed_value) == (GuardrailCheck.Outcome.HOLDING, 4)


def test_a_pause_says_in_the_pilots_history_which_guardrail_broke_and_is_announced(ops):
    from pilots import breach_text
    from pilots.models import BREACH_OPENED

    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    breach.refresh_from_db()
    assert breach.action_taken == "paused"
    [pause] = StageChange.objects.filter(pilot=pilot, action="pause")
    assert pause.rationale == breach_text.describe(breach)
    # Whoever listens (webhooks) is told which breach opened.
    listeners = followups._subscribers[BREACH_OPENED]
    assert listeners
    announced = {f.kind: f.payload for f in FollowUp.objects.filter(key=f"breach:{breach.pk}")}
    for kind in listeners:
        assert announced[kind] == {"breach_id": breach.pk}


def test_a_refused_pause_is_logged_with_its_breach_and_recorded_as_refused(
    ops, monkeypatch, caplog
):
    from pilots import lifecycle

    def refuse(*args, **kwargs):
        raise ValidationFailed("The pilot moved meanwhile.", code="stage_changed")

    monkeypatch.setattr(lifecycle, "move", refuse)
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.PAUSE)
    with caplog.at_level("ERROR", logger="decisions.guardrails"):
        [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    breach.refresh_from_db()
    pilot.refresh_from_db()
    assert (breach.action_taken, pilot.stage) == ("pause_refused", "pilot")
    [record] = [r for r in caplog.records if "pause was refused" in r.getMessage()]
    assert record.getMessage() == f"Guardrail breach {breach.pk}: the pause was refused"
    assert record.exc_info is not None


def test_the_ops_alert_says_what_broke_what_was_done_and_links_to_the_pilot(settings):
    from core import outbox
    from pilots import breach_text
    from tests.factories import OpsUserFactory

    settings.SITE_URL = "https://pilots.example.com/"
    settings.OPS_EMAILS = []
    OpsUserFactory(username="ops-en")
    pilot = PilotFactory(stage="pilot", title="Copilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    outbox.deliver_batch(guardrails.BREACH_ALERT, "")
    [alert] = [m for m in mail.outbox if m.to == ["ops-en@example.com"]]
    breach.refresh_from_db()
    assert alert.subject == "Guardrail broken: Copilot"
    assert alert.body == (
        f"{breach_text.describe(breach)}\n\nAction taken: Flagged to Ops.\n"
        f"https://pilots.example.com{pilot.get_absolute_url()}"
    )


def test_a_breach_with_nobody_to_alert_is_logged_and_one_with_recipients_is_not(settings, caplog):
    from core.models import Delivery

    settings.OPS_EMAILS = []
    pilot = PilotFactory(stage="pilot")
    MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)
    with caplog.at_level("ERROR", logger="decisions.guardrails"):
        [breach] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5).pk)
    [record] = [r for r in caplog.records if "no Ops recipient" in r.getMessage()]
    assert record.getMessage() == (
        f"Guardrail breach {breach.pk}: no Ops recipient (no active Ops user with an email, no"
        " OPS_EMAILS): nobody is emailed; it shows on the Ops home."
    )
    assert not Delivery.objects.filter(kind=guardrails.BREACH_ALERT).exists()

    caplog.clear()
    settings.OPS_EMAILS = ["oncall@example.com"]
    with caplog.at_level("ERROR", logger="decisions.guardrails"):
        [second] = guardrails.evaluate_round(add_round(pilot, [{"trust": 1}] * 5, weeks_ago=1).pk)
    assert not [r for r in caplog.records if "no Ops recipient" in r.getMessage()]
    [delivery] = Delivery.objects.filter(kind=guardrails.BREACH_ALERT)
    assert (delivery.recipient, delivery.payload) == (
        "oncall@example.com",
        {"breach_id": second.pk},
    )
    assert (delivery.subject_id, delivery.subject_type.model) == (str(second.pk), "guardrailbreach")


# --- Exposure reports: which answers, which round, which incident count ---------------------


def _exposure_round(pilot, *, weeks_ago=0, closed=False, **answers):
    given = {"incident": True, "incident_kind": "confidential_data_exposed", **answers}
    return add_round(pilot, [given], weeks_ago=weeks_ago, closed=closed)


def test_an_exposure_reported_in_an_earlier_round_does_not_breach_a_later_one(ops):
    pilot = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG)
    earlier = _exposure_round(pilot, weeks_ago=1)
    [first] = guardrails.record_exposure_incident(earlier.pk)
    # The later round: one more exposure reported, while the earlier breach is still open.
    later = _exposure_round(pilot)
    [second] = guardrails.record_exposure_incident(later.pk)
    assert (second.round, second.exposure_reports) == (later, 1)
    assert (first.round, first.exposure_reports) == (earlier, 1)
    # A round where nobody reported one breaches nothing, whatever other rounds said.
    quiet = add_round(pilot, [{"incident": False}], weeks_ago=-1, closed=False)
    assert guardrails.record_exposure_incident(quiet.pk) == []


def test_only_the_incident_kind_answer_reports_an_exposure_not_words_in_a_comment(ops):
    pilot = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG)
    r = add_round(pilot, [{"incident": False, "comment": "confidential_data_exposed"}])
    assert guardrails.record_exposure_incident(r.pk) == []
    assert not GuardrailBreach.objects.exists()


def test_an_exposure_breaks_a_guardrail_already_on_record_for_its_metric_in_the_round(ops):
    pilot = PilotFactory(stage="pilot")
    both = MetricGuardrailFactory(
        pilot=pilot, action=Guardrail.Action.FLAG, forbids_data_exposure=True
    )
    exposed = {"incident": True, "incident_kind": "confidential_data_exposed"}
    r = add_round(pilot, [{"trust": 1, **exposed}] + [{"trust": 1}] * 5)
    [metric] = guardrails.evaluate_round(r.pk)  # trust broke
    [exposure] = guardrails.record_exposure_incident(r.pk)  # the exposure's task ran late
    assert (metric.guardrail, metric.trigger) == (both, "metric")
    assert (exposure.guardrail, exposure.trigger, exposure.exposure_reports) == (
        both,
        "exposure",
        1,
    )


def test_a_further_exposure_breaks_again_only_the_guardrails_whose_breach_was_resolved(ops):
    from tests.decisions.test_guardrails import _report_exposure

    pilot = PilotFactory(stage="pilot")
    still_open = GuardrailFactory(
        pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG
    )
    resolved = GuardrailFactory(
        pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG,
        description="Customer files never go into a prompt.",
    )  # fmt: skip
    r = _exposure_round(pilot)
    first = {b.guardrail: b for b in guardrails.record_exposure_incident(r.pk)}
    assert set(first) == {still_open, resolved}
    guardrails.resolve_breach(first[resolved].pk, actor=ops, note="Purged the file.")
    _report_exposure(r)
    [again] = guardrails.record_exposure_incident(r.pk)
    assert (again.guardrail, again.exposure_reports) == (resolved, 2)


def test_an_exposure_breach_recorded_before_reports_were_counted_is_not_a_count(ops):
    pilot = PilotFactory(stage="pilot")
    guardrail = GuardrailFactory(
        pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG
    )
    r = _exposure_round(pilot)
    GuardrailBreach.objects.create(
        guardrail=guardrail,
        pilot=pilot,
        round=r,
        trigger="exposure",
        exposure_reports=None,
        detail="An exposure (recorded before counts were kept).",
        resolved_at=timezone.now(),
        resolved_by=ops,
        resolution_note="Handled.",
    )
    # Resolved, and counting nothing: the round's report is a further exposure.
    [breach] = guardrails.record_exposure_incident(r.pk)
    assert breach.exposure_reports == 1


# --- Exposure incidents reported outside a round ---------------------------------------------


def _incident(pilot, *, kind="confidential_data_exposed"):
    from incidents.models import Incident

    return Incident.objects.create(
        pilot=pilot, kind=kind, severity="high", description="A file went into a prompt."
    )


def test_an_exposure_incident_breaks_its_own_pilots_guardrails_once_as_one_report(ops):
    other = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=other, forbids_data_exposure=True, action=Guardrail.Action.FLAG)
    pilot = PilotFactory(stage="pilot")
    guardrail = GuardrailFactory(
        pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG
    )
    _incident(other)  # reported first, about another pilot
    incident = _incident(pilot)

    [breach] = guardrails.record_incident_exposure(incident.pk)

    assert (breach.pilot, breach.guardrail, breach.exposure_reports) == (pilot, guardrail, 1)
    assert list(incident.breaches.all()) == [breach]
    assert not GuardrailBreach.objects.filter(pilot=other).exists()


def test_an_incident_of_another_kind_or_about_no_pilot_breaks_no_guardrail(ops):
    from incidents.models import Incident

    pilot = PilotFactory(stage="pilot")
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action=Guardrail.Action.FLAG)
    wrong_output = _incident(pilot, kind="wrong_output")
    about_a_tool = Incident.objects.create(
        tool=pilot.tool,
        kind="confidential_data_exposed",
        severity="high",
        description="The vendor leaked a file.",
    )
    assert guardrails.record_incident_exposure(wrong_output.pk) == []
    assert guardrails.record_incident_exposure(about_a_tool.pk) == []
    assert not GuardrailBreach.objects.exists()


# --- A round with one guardrail broken in the open and another on too few answers ------------


def test_a_withheld_breach_is_recorded_beside_a_named_one_of_the_same_round(settings, ops):
    settings.FEEDBACK_ANONYMITY_THRESHOLD = 5
    pilot = PilotFactory(stage="pilot")
    unseen = MetricGuardrailFactory(
        pilot=pilot,
        action=Guardrail.Action.FLAG,
        question_key="quality",
        description="Quality must stay at 3 or above.",
    )
    named = MetricGuardrailFactory(pilot=pilot, action=Guardrail.Action.FLAG)  # trust ≥ 3
    # Six answered trust (low); only three answered quality (low too): too few to name it.
    r = add_round(pilot, [{"trust": 1, "quality": 1}] * 3 + [{"trust": 1}] * 3)
    created = guardrails.evaluate_round(r.pk)
    assert sorted((b.guardrail_id is None, b.rule.get("action")) for b in created) == [
        (False, None),
        (True, "flag"),
    ]
    assert {b.guardrail for b in created} == {named, None}
    # The round met the threshold, so both are checked; the one on three answers shows no value.
    checks = {c.guardrail: (c.outcome, c.observed_value) for c in GuardrailCheck.objects.all()}
    assert checks == {unseen: ("not_evaluated", None), named: ("broken", 1)}
    pilot.refresh_from_db()
    assert pilot.stage == "pilot"  # both only flag


def test_a_metric_breach_is_recorded_after_an_exposure_breach_of_the_same_guardrail(ops):
    pilot = PilotFactory(stage="pilot")
    both = MetricGuardrailFactory(
        pilot=pilot, action=Guardrail.Action.FLAG, forbids_data_exposure=True
    )
    exposed = {"incident": True, "incident_kind": "confidential_data_exposed"}
    r = add_round(pilot, [{"trust": 1, **exposed}] + [{"trust": 1}] * 5)
    [exposure] = guardrails.record_exposure_incident(r.pk)  # reported while the round ran
    [metric] = guardrails.evaluate_round(r.pk)  # then the round closed with trust broken
    assert (exposure.trigger, metric.trigger) == ("exposure", "metric")
    assert (metric.guardrail, metric.observed_value) == (both, 1)


def test_ops_without_an_email_address_are_not_alerted(settings):
    from tests.factories import OpsUserFactory

    settings.OPS_EMAILS = ["oncall@example.com"]
    OpsUserFactory(username="no-mail", email="")
    OpsUserFactory(username="ops-b")
    assert guardrails.ops_recipients() == ["oncall@example.com", "ops-b@example.com"]
