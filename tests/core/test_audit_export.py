"""Ops export the audit log of a period as CSV or JSON; nobody else can."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from core import changelog
from tests.factories import OpsUserFactory, PilotFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("audit_export")


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, 12, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def records(ops):
    pilot = PilotFactory(title="Reply drafts")
    changelog.record(
        "pilot.edited",
        subject=pilot,
        scope=pilot,
        actor=ops,
        changes={"title": ["Old", "Reply drafts"]},
        reason="=HYPERLINK(evil)",
        at=at(2),
    )
    changelog.record("stage.pause", subject=pilot, scope=pilot, actor=None, at=at(10))
    changelog.record("stage.resume", subject=pilot, scope=pilot, actor=ops, at=at(20))
    return pilot


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_ops_export_a_period_as_csv_both_days_included(client, ops, records):
    client.force_login(ops)
    response = client.get(URL, {"start": "2026-03-02", "end": "2026-03-10", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-2026-03-02-2026-03-10.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("pilot.edited", ops.username),
        ("stage.pause", ""),
    ]
    assert json.loads(rows[0]["changes"]) == {"title": ["Old", "Reply drafts"]}
    assert rows[0]["subject_type"] == "pilots.pilot"
    # A spreadsheet must not run a reason as a formula.
    assert rows[0]["reason"] == "'=HYPERLINK(evil)"


def test_ops_export_a_period_as_json(client, ops, records):
    client.force_login(ops)
    response = client.get(URL, {"start": "2026-03-10", "end": "2026-03-31", "format": "json"})
    assert response.status_code == 200
    data = json.loads(body(response))
    assert [(r["action"], r["actor"], r["scope_id"]) for r in data] == [
        ("stage.pause", "", records.pk),
        ("stage.resume", ops.username, records.pk),
    ]


def test_an_empty_period_is_an_empty_export(client, ops):
    client.force_login(ops)
    response = client.get(URL, {"start": "2026-01-01", "end": "2026-01-02", "format": "json"})
    assert json.loads(body(response)) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-03-10"}, "start"),
        ({"start": "2026-03-01"}, "end"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end"),
        ({"start": "2026-03-01", "end": "2026-03-10", "format": "xml"}, "format"),
    ],
)
def test_a_bad_period_or_format_is_a_400_naming_the_field(client, ops, params, field):
    client.force_login(ops)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.parametrize("who", ["lead", "staff"])
def test_nobody_but_ops_can_export(client, lead, records, who):
    user = lead if who == "lead" else UserFactory(is_staff=True)
    client.force_login(user)
    response = client.get(URL, {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 403
    assert b"pilot.edited" not in response.content


def test_a_superuser_is_ops_and_can_export(client, records):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(URL, {"start": "2026-03-01", "end": "2026-03-31"}).status_code == 200


def test_signed_out_the_export_sends_to_sign_in(client, records):
    response = client.get(URL, {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_change_record_list_in_the_admin_links_to_the_export(client):
    client.force_login(OpsUserFactory())
    html = client.get(reverse("admin:core_changerecord_changelist")).content.decode()
    assert f'action="{URL}"' in html
