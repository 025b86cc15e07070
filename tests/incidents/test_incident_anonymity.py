"""An anonymous incident leaves no trace of who reported it, as an attacker would look for one.

The attacker is Ops (or anyone with the database, the logs and the outbox): they compare every
table before and after the report, read the request and application logs, and read every
message queued. Nothing may hold the reporter's id, name or email, nor a time of the report
finer than its day, except what any exposure breach says anyway (that one was reported).
"""

from __future__ import annotations

import datetime
import logging

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from core import followups
from core.models import ChangeRecord, FollowUp
from incidents.models import EXPOSURE_KIND, Incident
from pilots.models import Stage
from tests.factories import GuardrailFactory, ParticipationFactory, PilotFactory, UserFactory

pytestmark = pytest.mark.django_db


def every_row() -> dict[str, set[tuple]]:
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows[table] = set(map(tuple, cursor.fetchall()))
    return rows


def user_columns() -> dict[str, list[int]]:
    """For each table, the positions of its columns that point at a user.

    Read from the models (every table, many-to-many ones included) and the columns as the
    database returns them: Django's SQLite introspection cannot parse every table's DDL.
    """
    user_model = get_user_model()
    found = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = model._meta.db_table
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} LIMIT 0")  # noqa: S608
            names = [column[0] for column in cursor.description]
            found[table] = [
                names.index(field.column)
                for field in model._meta.concrete_fields
                if field.is_relation and field.related_model is user_model
            ]
    return found


@pytest.fixture
def whistleblower(team):
    person = UserFactory(username="whistle", email="whistle@example.com", first_name="Wanda")
    pilot = PilotFactory(team=team, stage=Stage.PILOT)
    ParticipationFactory(pilot=pilot, user=person)
    GuardrailFactory(pilot=pilot, forbids_data_exposure=True, action="flag")
    return person, pilot


def test_an_anonymous_report_leaves_no_trace_of_who_in_rows_records_logs_or_messages(
    client, ops, whistleblower, caplog, settings
):
    settings.OPS_EMAILS = ["oncall@example.com"]
    person, pilot = whistleblower
    client.force_login(person)
    before = every_row()
    caplog.set_level(logging.DEBUG)

    page = client.post(
        reverse("incident_report_anonymous"),
        {
            "pilot": pilot.pk,
            "kind": EXPOSURE_KIND,
            "severity": "high",
            "description": "A customer list was pasted into the tool.",
        },
    )
    for followup in FollowUp.objects.filter(status="pending"):
        followups.run(followup.pk)

    assert page.status_code == 302
    incident = Incident.objects.get()
    assert incident.reporter_id is None
    assert incident.breaches.count() == 1  # the exposure still breached at once
    # Nothing in the database names or points at the reporter.
    after = every_row()
    pointers = user_columns()
    identifying = (str(person.pk), person.username, person.email, person.first_name)
    new_rows = {t: after[t] - before.get(t, set()) for t in after}
    assert new_rows["incidents_incident"]
    for table, rows in new_rows.items():
        for row in rows:
            for position in pointers.get(table, []):
                assert row[position] != person.pk, (table, row)
            text = " ".join(str(v) for v in row)
            for word in identifying[1:]:
                assert word not in text, (table, row)
    # The incident keeps its day, no time, and no change record names anyone for it.
    [incident_row] = new_rows["incidents_incident"]
    assert not any(isinstance(v, datetime.datetime) for v in incident_row)
    assert not ChangeRecord.objects.filter(actor=person).exists()
    assert not ChangeRecord.objects.filter(subject_id=str(incident.pk)).exists()
    # No log line carries the reporter or the anonymous page's request.
    for record in caplog.records:
        assert getattr(record, "user_id", None) != person.pk, record.getMessage()
        message = record.getMessage()
        assert "/incidents/report/anonymous/" not in message
        for word in identifying[1:]:
            assert word not in message


def test_the_same_report_by_name_does_name_the_reporter(client, whistleblower):
    person, pilot = whistleblower
    client.force_login(person)
    client.post(
        reverse("incident_report"),
        {"pilot": pilot.pk, "kind": "other", "severity": "low", "description": "Slow"},
    )
    assert Incident.objects.get().reporter == person
    assert ChangeRecord.objects.filter(actor=person, action="incident.reported").exists()
