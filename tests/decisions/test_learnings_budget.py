"""The learnings library costs the same number of queries at 10 and at 1,000 pilots (issue 12:
query budgets of the results table, learnings and radar at both sizes)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from pilots.models import Conclusion, Stage, StageChange
from tests.web.test_query_budgets import SIZES, populate

pytestmark = pytest.mark.django_db

CONCLUDED = {Stage.APPROVED: "adopted", Stage.STOPPED: "no_value", Stage.RETIRED: "risk"}


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}_pilots")
def concluded(request, team, lead, participant, ops):
    """n pilots across every stage; those approved, stopped or retired concluded (bulk)."""
    pilots = [
        p
        for p in populate(request.param, team=team, lead=lead, participant=participant)
        if p.stage in CONCLUDED
    ]
    now = timezone.now()
    changes = StageChange.objects.bulk_create(
        StageChange(
            pilot=p,
            action="stop",
            from_stage=Stage.PILOT,
            to_stage=p.stage,
            actor=ops,
            created_at=now,
            evidence={
                "version": 2,
                "metrics": [
                    {
                        "metric": "Quality",
                        "status": "met",
                        "estimate": 4.2,
                        "target": 4.0,
                        "direction": "higher",
                        "min_responses": 5,
                        "n": 9,
                        "rounds": 2,
                        "ci": [4.05, 4.4],
                    }
                ],
            },
        )
        for p in pilots
    )
    Conclusion.objects.bulk_create(
        Conclusion(
            pilot=p,
            stage_change=c,
            outcome=CONCLUDED[p.stage],
            takeaways="Agents kept rewriting the ticket drafts.",
            recommendations=["rerun"],
            concluded_by=ops,
            concluded_at=now,
        )
        for p, c in zip(pilots, changes, strict=True)
    )
    return pilots


@pytest.mark.parametrize("query", [{}, {"q": "ticket"}, {"outcome": "risk"}])
def test_the_library_costs_the_same_queries_at_10_and_1000_pilots(
    client, django_assert_max_num_queries, concluded, outsider, query
):
    client.force_login(outsider)
    # Session, user, Ops or not, the navigation's "leads a team", years, tools and teams of the
    # filters, count, the page of conclusions with their pilot, team, tool and stage change.
    with django_assert_max_num_queries(9):
        response = client.get(reverse("learnings"), query)
    assert response.status_code == 200
    assert response.context["rows"]
