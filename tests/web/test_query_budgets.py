"""Query budgets: the main pages cost the same number of queries at 10 and at 1,000 pilots.

Each budget is one number asserted at both sizes, so a query per pilot would break it.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.models import FeedbackRound, Prompt
from feedback.tokens import make_token
from governance.models import TeamChampion, TrainingSession
from pilots.models import (
    ACTIVE_STAGES,
    Guardrail,
    GuardrailBreach,
    Participation,
    Pilot,
    Stage,
    StageChange,
    SuccessMetric,
)
from tests.factories import AIToolFactory, QuestionnaireFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SIZES = [10, 1000]
STAGES = list(Stage.values)


def populate(n: int, *, team, lead, participant) -> list[Pilot]:
    """Bulk-create n pilots across every stage, half in the lead's team, with their rows."""
    other_team = TeamFactory(name="Elsewhere", slug="elsewhere")
    tool = AIToolFactory(name="Copilot")
    today = timezone.localdate()
    now = timezone.now()
    pilots = Pilot.objects.bulk_create(
        Pilot(
            title=f"Pilot {i}",
            team=team if i % 2 == 0 else other_team,
            lead=lead,
            tool=tool,
            problem="p",
            hypothesis_intervention="i",
            hypothesis_outcome="o",
            hypothesis_who="w",
            hypothesis_signal="s",
            planned_start=today - datetime.timedelta(days=60),
            # A third of them run past their planned end (listed on the Ops home).
            planned_end=today + datetime.timedelta(days=30 if i % 3 else -1),
            stage=STAGES[i % len(STAGES)],
            paused_from="sandbox" if STAGES[i % len(STAGES)] == "paused" else "",
        )
        for i in range(n)
    )
    SuccessMetric.objects.bulk_create(
        SuccessMetric(pilot=p, name="Quality", question_key="quality", target=4) for p in pilots
    )
    guardrails = Guardrail.objects.bulk_create(
        Guardrail(pilot=p, description="A human checks") for p in pilots
    )
    Participation.objects.bulk_create(Participation(pilot=p, user=participant) for p in pilots)
    StageChange.objects.bulk_create(
        StageChange(pilot=p, action="submit", from_stage="draft", to_stage="proposed", actor=lead)
        for p in pilots
    )
    questionnaire = QuestionnaireFactory()
    active = [p for p in pilots if p.stage in ACTIVE_STAGES]
    rounds = []
    for p in active:
        for weeks_ago, responses in ((2, 8), (1, 4)):
            opens = now - datetime.timedelta(weeks=weeks_ago)
            rounds.append(
                FeedbackRound(
                    pilot=p,
                    questionnaire=questionnaire,
                    period_start=today - datetime.timedelta(weeks=weeks_ago),
                    opens_at=opens,
                    closes_at=opens + datetime.timedelta(days=3),
                    status="closed",
                    closed_at=opens + datetime.timedelta(days=3),
                    invited_count=10,
                    response_count=responses,
                )
            )
        rounds.append(
            FeedbackRound(
                pilot=p,
                questionnaire=questionnaire,
                period_start=today,
                opens_at=now,
                closes_at=now + datetime.timedelta(days=3),
            )
        )
    FeedbackRound.objects.bulk_create(rounds)
    Prompt.objects.bulk_create(
        Prompt(round=r, participant=participant, token_hash=make_token()[1])
        for r in rounds
        if r.status == "open"
    )
    by_pilot = {g.pilot_id: g for g in guardrails}
    GuardrailBreach.objects.bulk_create(
        GuardrailBreach(guardrail=by_pilot[p.pk], pilot=p) for p in active
    )
    # Each team has a champion and n // 10 training sessions (the portfolio's champions block).
    for t in (team, other_team):
        TeamChampion.objects.create(team=t, user=UserFactory(), duties="d", hours_per_month=4)
    TrainingSession.objects.bulk_create(
        TrainingSession(
            team=team if i % 2 else other_team,
            topic="t",
            held_on=today - datetime.timedelta(days=i),
            attendees=5,
        )
        for i in range(n // 10)
    )
    return pilots


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}_pilots")
def pilots(request, team, lead, participant):
    return populate(request.param, team=team, lead=lead, participant=participant)


# Budgets per page and viewer. Every page: session, user, Ops group, "leads a team" (nav).
# - Ops home: + teams led, pilots led, open prompts, pilots taken part in, proposals (list,
#   count), open breaches, falling response rates (one query with two subqueries),
#   pilots past their planned end (list, count), new declarations, the pilots ready for
#   review (running pilots, their metrics, recent rounds, open breach counts), the leads'
#   open requests for a decision (list, count: each count with its overdue part, pilots.review_sla),
#   the approved standards due for re-certification, the AI tools to check again, open incidents,
#   pilots over their budget.
# - Lead home: + the same for the lead, and the promotion gates of at most HOME_PILOTS
#   pilots (a few queries each), so the budget holds however many pilots there are.
# - Portfolio: + counts per stage, the cards, the evidence figures (pilots, participants,
#   results, stage history), the filter choices (teams, tools), the champions block (teams with
#   their sessions, champions).
# - Pilot page: + the pilot, rounds, metrics, guardrails, participants, stage changes, and
#   the evidence section (rounds, metrics, breaches, participants, guardrail checks),
#   whether the viewer watches it (the watch button), and the history: its change records,
#   then the people, teams and tools they name (one query per kind, whatever their number);
#   the conclusion, the open request for a decision.
BUDGETS = {
    ("home", "ops"): 25,
    ("home", "lead"): 23,
    ("home", "participant"): 8,
    ("portfolio", "ops"): 14,
    ("portfolio", "lead"): 14,
    ("detail", "lead"): 22,
}


@pytest.mark.parametrize(("page", "viewer"), list(BUDGETS))
def test_the_page_costs_the_same_queries_at_every_size(
    client, django_assert_max_num_queries, pilots, ops, lead, participant, page, viewer
):
    client.force_login({"ops": ops, "lead": lead, "participant": participant}[viewer])
    url = {
        "home": reverse("home"),
        "portfolio": reverse("portfolio"),
        "detail": reverse("pilot_detail", args=[pilots[2].pk]),
    }[page]
    with django_assert_max_num_queries(BUDGETS[(page, viewer)]):
        response = client.get(url)
    assert response.status_code == 200
