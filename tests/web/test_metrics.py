"""GET /metrics: the platform's figures for Prometheus, behind a token, never moved by an answer."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.models import Delivery, FollowUp
from feedback.answering import submit_response
from pilots.models import GuardrailBreach
from tests.factories import GuardrailFactory, PilotFactory
from tests.feedback.answering_support import GOOD_ANSWERS, prompt_with_token, pulse_round

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


@pytest.fixture(autouse=True)
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> str:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def breach(round_) -> GuardrailBreach:
    return GuardrailBreach.objects.create(
        guardrail=GuardrailFactory(pilot=round_.pilot),
        pilot=round_.pilot,
        round=round_,
        detail="Customer data pasted into the tool.",
    )


def samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client, settings):
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer x").status_code == 401
    assert client.get(reverse("metrics")).status_code == 401
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_the_figures_are_the_database_s(client, participant):
    round_ = pulse_round()
    PilotFactory(stage="paused", paused_from="pilot")
    breach(round_)
    now = timezone.now()
    for i, status in enumerate(["sent", "sent", "failed", "queued"]):
        Delivery.objects.create(
            kind="invitation",
            recipient=f"p{i}@example.com",
            dedupe_key=f"invitation:{i}",
            status=status,
            claimed_at=now - datetime.timedelta(seconds=3) if status == "sent" else None,
            sent_at=now if status == "sent" else None,
            created_at=now - datetime.timedelta(minutes=2),
        )
    FollowUp.objects.create(kind="round_closed", key="round_id=1", status="failed", attempts=8)
    figures = samples(scrape(client))
    assert figures[("aiops_rounds_opened_total", ())] == 1
    assert figures[("aiops_rounds_open", ())] == 1
    assert figures[("aiops_rounds_closed_total", ())] == 0
    sent = ("aiops_outbox_deliveries_total", (("kind", "invitation"), ("status", "sent")))
    failed = ("aiops_outbox_deliveries_total", (("kind", "invitation"), ("status", "failed")))
    assert (figures[sent], figures[failed]) == (2, 1)
    assert figures[("aiops_outbox_backlog", (("kind", "invitation"),))] == 1
    assert figures[("aiops_outbox_oldest_queued_seconds", (("kind", "invitation"),))] >= 120
    assert figures[("aiops_outbox_send_seconds_count", (("kind", "invitation"),))] == 2
    assert figures[("aiops_outbox_send_seconds_sum", (("kind", "invitation"),))] == pytest.approx(
        6, abs=0.1
    )
    assert figures[("aiops_followups", (("kind", "round_closed"), ("status", "failed")))] == 1
    assert figures[("aiops_breaches_total", ())] == 1
    assert figures[("aiops_breaches_open", ())] == 1
    assert figures[("aiops_pilots", (("stage", "paused"),))] == 1


def test_an_answer_to_an_open_anonymous_round_moves_no_figure(client, participant):
    """The attack: scrape, let someone answer, scrape again, and look for the difference."""
    round_ = pulse_round(anonymous=True)
    _prompt, token = prompt_with_token(round_, participant)
    before = scrape(client)
    submit_response(token=token, answers=GOOD_ANSWERS)
    after = scrape(client)
    assert round_.responses.count() == 1
    assert samples(after) == samples(before)


def test_a_scrape_costs_the_same_queries_at_two_sizes(client, django_assert_max_num_queries):
    def fill(n: int) -> None:
        for _ in range(n):
            round_ = pulse_round()
            breach(round_)

    fill(2)
    with django_assert_max_num_queries(10):
        scrape(client)
    fill(20)
    with django_assert_max_num_queries(10):
        scrape(client)
