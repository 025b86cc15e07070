"""The decision banner of the pilot page and the Ops home's "ready for review" queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions import guardrails
from pilots.models import Guardrail, Stage
from tests.decisions.evidence_support import add_round, scores
from tests.factories import MetricGuardrailFactory, PilotFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db

MET = [5, 5, 5, 4, 5, 5, 5, 4]
MISSED = [1, 2, 1, 2, 1, 2, 1, 2]


def running(title="Drafts", *, quality=None, min_responses=5, stage=Stage.PILOT, **metric):
    pilot = PilotFactory(stage=stage, title=title)
    SuccessMetricFactory(
        pilot=pilot, name="Quality", target=3.5, min_responses=min_responses, **metric
    )
    if quality is not None:
        add_round(pilot, scores("quality", quality))
    return pilot


def banner_of(client, pilot):
    response = client.get(reverse("pilot_detail", args=[pilot.pk]))
    return response.context["decision_banner"], response.content.decode()


@pytest.fixture
def reader(client, outsider):
    client.force_login(outsider)
    return client


def test_a_pilot_whose_metrics_are_all_met_is_ready_to_promote(reader):
    banner, html = banner_of(reader, running(quality=MET))
    assert (banner.kind, banner.headline) == ("promote", "Ready to promote")
    assert 'class="decision-banner decision-promote"' in html


def test_a_missed_metric_says_stop_and_names_it(reader):
    banner, _html = banner_of(reader, running(quality=MISSED))
    assert banner.headline == "Stop: metric Quality not met"


def test_too_few_answers_says_how_many_rounds_to_a_decision(reader):
    # 6 answers a round, 15 needed over the last 3 rounds: 2 more rounds.
    banner, _html = banner_of(reader, running(quality=[4, 3, 4, 4, 3, 4], min_responses=15))
    assert banner.headline == "Keep going (about 2 rounds to a decision)"


def test_an_interval_straddling_the_target_keeps_going_without_a_round_count(reader):
    # Enough answers, but an interval around 3.5: more rounds of the same people do not help.
    banner, _html = banner_of(reader, running(quality=[2, 5, 3, 4, 5, 2, 4, 3]))
    assert banner.headline == "Keep going"
    assert "straddles" in banner.reason


def test_a_pilot_paused_by_its_guardrail_names_the_guardrail(reader):
    pilot = running()
    MetricGuardrailFactory(pilot=pilot, description="Trust holds", action=Guardrail.Action.PAUSE)
    r = add_round(pilot, scores("trust", [1, 2, 1, 2, 2, 1]))
    guardrails.evaluate_round(r.pk)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PAUSED
    banner, _html = banner_of(reader, pilot)
    assert (banner.kind, banner.headline) == ("paused", "Paused by guardrail Trust holds")


def test_no_banner_without_evidence_or_outside_a_running_stage(reader):
    assert banner_of(reader, running())[0] is None
    assert banner_of(reader, running("Done", quality=MET, stage=Stage.APPROVED))[0] is None


# --- Ops home ----------------------------------------------------------------------------------


def test_the_ops_home_lists_pilots_ready_for_review_and_not_those_to_keep_going(client, ops):
    running("Promote me", quality=MET)
    running("Stop me", quality=MISSED)
    running("Keep me", quality=[4, 3, 4, 4, 3, 4], min_responses=15)
    running("Approved already", quality=MET, stage=Stage.APPROVED)
    client.force_login(ops)
    response = client.get(reverse("home"))
    ready = {row["pilot"].title: row["banner"].headline for row in response.context["ops"]["ready"]}
    assert ready == {
        "Promote me": "Ready to promote",
        "Stop me": "Stop: metric Quality not met",
    }
    html = response.content.decode()
    assert "2 pilots ready for review" in html


def test_people_who_are_not_ops_get_no_review_queue(reader):
    running("Promote me", quality=MET)
    response = reader.get(reverse("home"))
    assert response.context["ops"] is None
    assert "ready for review" not in response.content.decode()


@pytest.mark.parametrize("size", [10, 200])
def test_the_ops_home_pays_the_same_queries_at_10_and_200_running_pilots(
    client, ops, django_assert_max_num_queries, size
):
    for i in range(size):
        running(f"Pilot {i}", quality=MET if i % 2 else MISSED)
    client.force_login(ops)
    with django_assert_max_num_queries(OPS_HOME_QUERIES):
        response = client.get(reverse("home"))
    assert response.context["ops"]["ready_count"] == size


# The home's own queries, plus four for the review queue (pilots, metrics, recent rounds,
# open breach counts), two for the leads' requests for a decision (list, count), one for the
# standards due for re-certification, and three for the AI tools to check again, the open
# incidents and the pilots over their budget.
OPS_HOME_QUERIES = 25
