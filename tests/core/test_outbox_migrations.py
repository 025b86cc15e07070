"""Moving email states to the outbox, on a database with yesterday's schema and data in it.

The database is migrated back to just before the move, filled with prompts and breaches in
every email state through the historical models, and migrated forward again: each state must
arrive in the outbox, so that a sent invitation can still be reminded, a failed one re-sent,
and a breach whose alert had not gone out still gets it.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("feedback", "0009_withhold_counts_below_threshold_in_stored_results"),
    ("pilots", "0012_guardrails_one_per_statistic_frozen_once_answered"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest() -> list:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def old_apps():
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def test_prompt_and_breach_email_states_arrive_in_the_outbox(old_apps, settings):
    settings.OPS_EMAILS = ["oncall@example.com"]
    now = timezone.now()
    User = old_apps.get_model("auth", "User")
    Group = old_apps.get_model("auth", "Group")
    Team = old_apps.get_model("pilots", "Team")
    AITool = old_apps.get_model("pilots", "AITool")
    Pilot = old_apps.get_model("pilots", "Pilot")
    Guardrail = old_apps.get_model("pilots", "Guardrail")
    Breach = old_apps.get_model("pilots", "GuardrailBreach")
    Round = old_apps.get_model("feedback", "FeedbackRound")
    Prompt = old_apps.get_model("feedback", "Prompt")
    Questionnaire = old_apps.get_model("feedback", "Questionnaire")

    ops = User.objects.create(username="ops", email="ops@example.com", is_staff=True)
    ops.groups.add(Group.objects.get_or_create(name="Ops")[0])
    User.objects.create(username="root", email="root@example.com", is_superuser=True)
    lead = User.objects.create(username="lead", email="lead@example.com")
    team = Team.objects.create(name="Support", slug="support", timezone="UTC")
    tool = AITool.objects.create(name="Drafts", vendor="Acme")
    pilot = Pilot.objects.create(
        title="Reply drafts",
        team=team,
        lead=lead,
        tool=tool,
        stage="pilot",
        planned_start=now.date(),
        planned_end=now.date() + datetime.timedelta(days=60),
    )
    questionnaire = Questionnaire.objects.create(slug="old", name="Old")
    round_ = Round.objects.create(
        pilot=pilot,
        questionnaire=questionnaire,
        period_start=now.date(),
        opens_at=now,
        closes_at=now + datetime.timedelta(days=3),
    )
    people = {
        name: User.objects.create(username=name, email=f"{name}@example.com")
        for name in ("sent", "failed", "queued", "sending", "reminded", "no-email")
    }
    User.objects.filter(username="no-email").update(email="")
    states = {
        "sent": {"send_status": "sent", "sent_at": now, "send_attempts": 1},
        "failed": {"send_status": "failed", "send_attempts": 3},
        "queued": {"send_status": "queued"},
        "sending": {"send_status": "sending", "send_started_at": now, "send_attempts": 1},
        "reminded": {
            "send_status": "sent",
            "sent_at": now,
            "send_attempts": 1,
            "reminder_status": "sent",
            "reminded_at": now,
        },
        "no-email": {"send_status": "skipped"},
    }
    prompts = {
        name: Prompt.objects.create(
            round=round_, participant=people[name], token_hash=f"{i:064x}", **states[name]
        )
        for i, name in enumerate(people)
    }
    guardrail = Guardrail.objects.create(pilot=pilot, description="No customer data", kind="policy")
    emailed = Breach.objects.create(
        pilot=pilot,
        guardrail=guardrail,
        round=round_,
        notify_status="sent",
        notified_at=now,
        notify_attempts=1,
    )
    other = Guardrail.objects.create(pilot=pilot, description="No secrets", kind="policy")
    waiting = Breach.objects.create(
        pilot=pilot, guardrail=other, round=round_, notify_status="queued"
    )

    new_apps = migrate(latest())
    Delivery = new_apps.get_model("core", "Delivery")

    def emails_of(name: str, kind: str = "invitation") -> list:
        return list(
            Delivery.objects.filter(kind=kind, subject_id=str(prompts[name].pk)).values_list(
                "status", "attempts", "batch"
            )
        )

    batch = f"round:{round_.pk}"
    assert emails_of("sent") == [("sent", 1, batch)]
    assert emails_of("failed") == [("failed", 3, batch)]
    assert emails_of("queued") == [("queued", 0, batch)]
    assert emails_of("sending") == [("sending", 1, batch)]
    assert emails_of("reminded") == [("sent", 1, batch)]
    assert emails_of("reminded", "reminder") == [("sent", 1, batch)]
    assert emails_of("sent", "reminder") == []  # not reminded yet: it still can be
    assert emails_of("no-email") == []
    # Every moved row satisfies the outbox's constraints (sent has sent_at, sending claimed_at).
    assert not Delivery.objects.filter(status="sent", sent_at__isnull=True).exists()
    assert not Delivery.objects.filter(status="sending", claimed_at__isnull=True).exists()

    alerts = Delivery.objects.filter(kind="breach_alert")
    assert not alerts.filter(subject_id=str(emailed.pk)).exists()
    assert sorted(alerts.filter(subject_id=str(waiting.pk)).values_list("recipient", "status")) == [
        ("oncall@example.com", "queued"),
        ("ops@example.com", "queued"),
        ("root@example.com", "queued"),
    ]
