"""Every control of the admin's forms has a name a screen reader can say, inlines included.

Django's tabular inline rows carry no label (the column header is not one); our
templates/admin/edit_inline/tabular.html gives each control a hidden label naming its column and
row.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import (
    MembershipFactory,
    ParticipationFactory,
    PilotFactory,
    SuccessMetricFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class Controls(HTMLParser):
    """Collect the form controls and whether each has a label (wrapping, `for` or aria)."""

    BUTTONS = ("submit", "button", "reset", "image", "hidden")

    def __init__(self) -> None:
        super().__init__()
        self.open_labels: list[dict] = []  # {"text": ..., "controls": [...]} of each open label
        self.label_for: dict[str, str] = {}  # id: text of the label pointing at it
        self.controls: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_labels.append({"text": "", "controls": [], "for": a.get("for")})
        elif tag in ("input", "select", "textarea") and a.get("type") not in self.BUTTONS:
            control = {"attrs": a, "label": ""}
            self.controls.append(control)
            if self.open_labels:
                self.open_labels[-1]["controls"].append(control)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.open_labels:
            label = self.open_labels.pop()
            if label["for"]:
                self.label_for[label["for"]] = " ".join(label["text"].split())
            for control in label["controls"]:
                control["label"] = " ".join(label["text"].split())

    def handle_data(self, data: str) -> None:
        for label in self.open_labels:
            label["text"] += data

    def label_of(self, name: str) -> str:
        control = next(c for c in self.controls if c["attrs"].get("name") == name)
        return control["label"] or self.label_for.get(control["attrs"].get("id"), "")

    def unlabelled(self) -> list[str]:
        missing = []
        for control in self.controls:
            a = control["attrs"]
            named = (
                control["label"]
                or a.get("id") in self.label_for
                or a.get("aria-label")
                or a.get("aria-labelledby")
            )
            if not named:
                missing.append(a.get("name") or a.get("id") or str(a))
        return missing


def _controls(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


def test_every_control_of_the_pilot_change_form_and_its_inlines_is_labelled(client, ops):
    pilot = PilotFactory(stage="draft")  # rows are editable only while a draft
    for name in ("Answer quality", "Minutes saved"):
        SuccessMetricFactory(pilot=pilot, name=name)
    for _ in range(3):
        ParticipationFactory(pilot=pilot)
    client.force_login(ops)
    html = client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    controls = _controls(html)
    names = [c["attrs"].get("name") for c in controls.controls]
    # A participant row is the person only: pilots.proposals writes the rows.
    assert "metrics-1-name" in names and "participations-2-user" in names
    assert controls.unlabelled() == []
    assert controls.label_of("metrics-1-name") == "Name, success metric 2"
    assert controls.label_of("participations-0-user") == "Person, participant 1"
    assert controls.label_of("metrics-1-DELETE") == "Delete success metric 2"


def test_every_control_of_a_teams_membership_rows_is_labelled(client, ops):
    team = TeamFactory()
    MembershipFactory(team=team, user=UserFactory())
    client.force_login(ops)
    ops.is_superuser = True
    ops.save(update_fields=["is_superuser"])
    html = client.get(reverse("admin:pilots_team_change", args=[team.pk])).content.decode()
    controls = _controls(html)
    assert any(c["attrs"].get("name") == "memberships-0-role" for c in controls.controls)
    assert controls.unlabelled() == []
