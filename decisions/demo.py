"""The demo's story for `seed_demo`: pilots with a believable past, and their feedback rounds.

Each demo pilot was created weeks or months ago and went through `pilots.lifecycle.move` on
dated days (its `now=`): submitted, approved, promoted on the evidence of the rounds that closed
in between, paused, rejected or retired. Between the moves it got the rounds the beat would
have opened (feedback.scheduling.plan_round decides, at each period's start and when the pilot
entered a stage): one per period that began while it was in sandbox, pilot or approved
standard, on or after its planned start, its window cut at the next period; each answered by
most of its participants and closed when its window ended, then its guardrails evaluated.
Promotions pass their gates on that evidence (no override), with the security and legal
reviews recorded before the promotion to approved standard. The events of all the pilots run
in time order, so ids follow dates.

Today: `participant` takes part in the sandbox, pilot and approved pilots, and has exactly one
open prompt, in the round of "Knowledge base search" that opened in the last three days (on a
working day if its halfway reminder, which would replace the printed link, is a day away or
more, else on the latest day); every other running pilot's current round has closed, so the
beat opens nothing when `make run` starts. Answers come from generators seeded with each
pilot's title: every run builds the same data.

Idempotent: a demo pilot that exists is left alone. Every run gives `participant`'s open,
unanswered prompt a new link and returns it (tokens are never stored, so the link can only be
shown when it is minted); the link it replaces stops working.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.exceptions import ValidationFailed
from core.models import Delivery
from decisions import guardrails
from feedback import invitations, scheduling
from feedback.models import Answer, FeedbackRound, Prompt, Question, Questionnaire, Response
from feedback.tokens import make_token
from governance import charter
from governance import demo as charter_demo
from governance.models import Acknowledgement
from pilots import approvals, conclusions, lifecycle
from pilots.demo import USERNAMES
from pilots.lifecycle import Action
from pilots.models import (
    ACTIVE_STAGES,
    AITool,
    Conclusion,
    Guardrail,
    Membership,
    Participation,
    Pilot,
    Review,
    Stage,
    SuccessMetric,
    Team,
)
from pilots.reviews import record_review

DAY = datetime.timedelta(days=1)
MOVE_HOUR = 10  # local time of the demo's moves (a few minutes apart on the same day)
# Running demo pilots get anonymous colleagues (no password) up to this many participants, so
# their rounds pass the anonymity threshold.
PARTICIPANTS = 10
DEMO_PARTICIPANT = "participant"
COMMENTS = [
    "Saves me the first draft every time.",
    "Good for short answers, weak on long policy questions.",
    "I still check every figure it gives.",
    "Faster than searching the wiki.",
    "Sometimes invents a product name.",
    "",
    "",
]
# Weights of the answers 1 to 5 to the "quality" question.
FIRST_TRIES = (0, 1, 3, 5, 2)  # sandbox: promising, mean about 3.7
CONVINCING = (0, 0, 0, 1, 3)  # well above the target of 4
MIXED = (0, 0, 2, 5, 2)  # about the target: more rounds are needed to tell
TRUST = (0, 0, 2, 5, 3)  # never below 3: no demo round breaks the trust guardrail


@dataclass(frozen=True)
class Move:
    """A stage move, `after_days` after the previous step ended (local time MOVE_HOUR)."""

    action: str
    actor: str
    after_days: int
    rationale: str = ""
    # A stop, retirement or promotion to approved standard records what the pilot taught.
    conclusion: conclusions.Findings | None = None


@dataclass(frozen=True)
class Rounds:
    """Let `count` rounds open and close in the current stage; the next step follows the last."""

    count: int


@dataclass(frozen=True)
class Reviews:
    """Security and legal reviews, both cleared, `after_days` after the previous step."""

    actor: str
    after_days: int


@dataclass(frozen=True)
class Story:
    title: str
    team: str
    lead: str
    tool: str
    data: str
    risk: str
    created_days_ago: int
    steps: tuple = ()
    cadence: str = Pilot.Cadence.BIWEEKLY
    window_days: int = 3
    planned_days: int = 84
    # Its current period's round opened in the last day and is open now (one story only).
    open_now: bool = False
    quality: dict[str, tuple] = field(default_factory=dict)  # by stage; FIRST_TRIES otherwise


SUBMIT = Move(Action.SUBMIT, "lead", 6)
APPROVE = Move(Action.APPROVE, "ops", 3, "Scope and guardrails are sound.")
REVIEWS = Reviews("ops2", 1)
DEMO_APPROVED_USE = "Drafting and summarising for support agents, each output reviewed by a person."
TO_APPROVED = Move(
    Action.PROMOTE,
    "ops2",
    2,
    "Quality met its target over the last three rounds; security and legal cleared it.",
    conclusions.Findings(
        Conclusion.Outcome.ADOPTED_WITH_CONDITIONS,
        "Agents rated the drafts above the quality target in every recent round. It works "
        "when an agent reviews each output; nobody should send it unread.",
        (Conclusion.Recommendation.GRADUATE,),
    ),
)
STORIES: list[Story] = [
    Story(
        "Meeting notes summaries",
        "support",
        "lead",
        "Doc Summariser",
        "internal",
        "minimal",
        created_days_ago=3,
    ),
    Story(
        "Refund policy answers",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "limited",
        created_days_ago=12,
        steps=(Move(Action.SUBMIT, "lead", 7),),
    ),
    Story(
        "Ticket reply drafts",
        "support",
        "lead",
        "Support Copilot",
        "confidential",
        "limited",
        created_days_ago=32,
        cadence=Pilot.Cadence.WEEKLY,
        steps=(SUBMIT, APPROVE),
    ),
    Story(
        "Knowledge base search",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "limited",
        created_days_ago=66,
        cadence=Pilot.Cadence.WEEKLY,
        window_days=5,
        open_now=True,
        quality={Stage.PILOT: MIXED},
        steps=(
            Move(Action.SUBMIT, "lead", 5),
            APPROVE,
            Rounds(3),
            Move(
                Action.PROMOTE,
                "ops",
                1,
                "The sandbox answered well; open it to the whole team to measure quality.",
            ),
        ),
    ),
    Story(
        "Call transcript tagging",
        "support",
        "lead",
        "Support Copilot",
        "confidential",
        "high",
        created_days_ago=190,
        planned_days=365,
        quality={Stage.PILOT: CONVINCING, Stage.APPROVED: CONVINCING},
        steps=(
            Move(Action.SUBMIT, "lead", 7),
            # High risk: security and legal clear it before the sandbox (pilots.lifecycle).
            REVIEWS,
            APPROVE,
            Rounds(3),
            Move(Action.PROMOTE, "ops", 2, "Good response rate in the sandbox."),
            Rounds(4),
            REVIEWS,
            TO_APPROVED,
        ),
    ),
    Story(
        "Invoice matching",
        "finance",
        "dana",
        "Code Assistant",
        "internal",
        "limited",
        created_days_ago=60,
        cadence=Pilot.Cadence.WEEKLY,
        steps=(
            Move(Action.SUBMIT, "dana", 5),
            Move(Action.APPROVE, "ops", 4, "Scope and guardrails are sound."),
            Rounds(3),
            Move(Action.PAUSE, "ops2", 2, "Paused during the quarter-end close."),
        ),
    ),
    Story(
        "Contract clause extraction",
        "finance",
        "dana",
        "Doc Summariser",
        "internal",
        "high",
        created_days_ago=50,
        steps=(
            Move(Action.SUBMIT, "dana", 6),
            Move(Action.REJECT, "ops", 5, "Needs a legal review of the vendor first."),
        ),
    ),
    Story(
        "Macro suggestions",
        "support",
        "lead",
        "Support Copilot",
        "internal",
        "minimal",
        created_days_ago=330,
        planned_days=150,
        quality={Stage.PILOT: CONVINCING, Stage.APPROVED: CONVINCING},
        steps=(
            Move(Action.SUBMIT, "lead", 5),
            APPROVE,
            Rounds(2),
            Move(Action.PROMOTE, "ops", 2, "Good response rate in the sandbox."),
            Rounds(3),
            REVIEWS,
            TO_APPROVED,
            Rounds(4),
            Move(
                Action.RETIRE,
                "ops",
                10,
                "Replaced by the ticket reply drafts standard.",
                conclusions.Findings(
                    Conclusion.Outcome.NO_VALUE,
                    "Useful while it lasted, but agents now write replies with the ticket reply "
                    "drafts, which cover macros too; keeping both split the feedback.",
                    (Conclusion.Recommendation.CHANGE_COURSE,),
                ),
            ),
        ),
    ),
]
STORY_TITLES = [s.title for s in STORIES]


# ---------------------------------------------------------------------------------------------
# The plan: dates only, nothing written


@dataclass(frozen=True)
class Event:
    at: datetime.datetime
    seq: int  # keeps a story's order among events at the same instant
    story: Story
    kind: str  # create, move, reviews, open, close
    detail: object = None


@dataclass(frozen=True)
class PlannedRound:
    period_start: datetime.date
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    stage: str


@dataclass
class Plan:
    story: Story
    created_at: datetime.datetime
    weekday: int
    planned_start: datetime.date
    planned_end: datetime.date
    final_stage: str
    events: list[Event]
    rounds: list[PlannedRound]


class _Planner:
    """Walk one story forward in time, deciding each move's date and the rounds in between."""

    def __init__(
        self,
        story: Story,
        team: Team,
        *,
        questionnaire: Questionnaire,
        now: datetime.datetime,
    ) -> None:
        self.story = story
        self.questionnaire = questionnaire
        self.now = now
        self.tz = ZoneInfo(team.timezone)
        self.today = now.astimezone(self.tz).date()
        # The pilot as it was at each instant (never saved): the scheduler's functions read its
        # stage (the cadence of approved standards), team, weekday, window and planned start.
        self.pilot = Pilot(
            team=team,
            cadence=story.cadence,
            cadence_weekday=self._weekday(),
            response_window_days=story.window_days,
            stage=Stage.DRAFT,
            planned_start=datetime.date.max,
        )
        self.events: list[Event] = []
        self.rounds: dict[datetime.date, PlannedRound] = {}

    def _weekday(self) -> int:
        """Return the weekday periods begin on, so that the current round is open or closed."""
        days = [self.today - i * DAY for i in range(8)]
        if self.story.open_now:
            # The current period began in the last three days, on a working day if its round's
            # halfway reminder (which would replace the link seed_demo prints) is still a day
            # away, else on the last day it could.
            halfway = datetime.timedelta(days=self.story.window_days) / 2
            began = [d for d in days[:3] if scheduling.opening_instant(d, self.tz) <= self.now]
            working = [
                d
                for d in began
                if d.weekday() < 5
                and scheduling.opening_instant(d, self.tz) + halfway - self.now >= DAY
            ]
            return (working or began)[0].weekday()
        # The current period began at least four days ago, on a working day: its round (a
        # window of at most three days) has closed.
        return next(d for d in days[4:] if d.weekday() < 5).weekday()

    def _local(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def _add(self, at: datetime.datetime, kind: str, detail: object = None) -> None:
        if at > self.now:
            raise ValueError(f"Demo story {self.story.title!r}: {kind} {detail} is in the future.")
        self.events.append(Event(at, len(self.events), self.story, kind, detail))

    def _run_rounds(
        self, start: datetime.datetime, *, until: datetime.datetime | None, count: int = 0
    ) -> datetime.datetime:
        """Open the rounds the beat would open from `start` (scheduling.plan_round decides).

        Ticks when each period begins. Stops before `until`, or once `count` rounds have opened
        and closed; returns the instant reached (the last round's close when counting).
        """
        tick, opened = start, 0
        for _ in range(1000):
            if until is not None and tick >= until:
                return tick
            period = scheduling.current_period(self.pilot, now=tick)
            if period.start not in self.rounds:
                try:
                    round_ = scheduling.plan_round(
                        self.pilot, questionnaire=self.questionnaire, now=tick
                    )
                except ValidationFailed as e:
                    if e.code not in ("before_planned_start", "too_little_time"):
                        raise
                    round_ = None  # this period goes without a round, as with the beat
                if round_ is not None:
                    planned = PlannedRound(
                        round_.period_start, round_.opens_at, round_.closes_at, self.pilot.stage
                    )
                    self.rounds[planned.period_start] = planned
                    self._add(planned.opens_at, "open", planned)
                    if planned.closes_at <= self.now:
                        self._add(planned.closes_at, "close", planned)
                    opened += 1
                    if count and opened == count:
                        return planned.closes_at
            tick = period.next_opens_at
            if until is None and tick > self.now:
                raise ValueError(
                    f"Demo story {self.story.title!r}: {count} round(s) do not fit before now."
                )
        raise ValueError(f"Demo story {self.story.title!r}: no end to its rounds.")

    def plan(self) -> Plan:
        story = self.story
        created_at = self._local(self.today - story.created_days_ago * DAY, 9, 30)
        self._add(created_at, "create")
        t = created_at
        planned_start = None
        for index, step in enumerate(story.steps):
            if isinstance(step, Rounds):
                if self.pilot.stage not in ACTIVE_STAGES:
                    raise ValueError(f"Demo story {story.title!r}: rounds while not running.")
                t = self._run_rounds(t, until=None, count=step.count)
                continue
            at = self._local(t.astimezone(self.tz).date() + step.after_days * DAY, MOVE_HOUR, index)
            if at <= t:
                at = t + datetime.timedelta(hours=1)
            if self.pilot.stage in ACTIVE_STAGES:
                self._run_rounds(t, until=at)
            if isinstance(step, Reviews):
                self._add(at, "reviews", step)
                t = at
                continue
            source = self.pilot.stage
            transition = lifecycle.find_transition(source, step.action)
            self._add(at, "move", (step, source))
            self.pilot.stage = transition.target or self.pilot.paused_from
            if step.action == Action.APPROVE:
                # Planned to start with the first period after the approval: the pilot waits
                # for it (the scheduler opens nothing for a period begun before the start).
                period = scheduling.current_period(self.pilot, now=at)
                planned_start = scheduling.next_period_start(
                    scheduling.effective_cadence(self.pilot),
                    self.pilot.cadence_weekday,
                    period.start,
                )
                self.pilot.planned_start = planned_start
            # The beat's next tick, a minute after the move.
            t = at + datetime.timedelta(minutes=1)
        if self.pilot.stage in ACTIVE_STAGES:
            self._run_rounds(t, until=self.now)
        open_rounds = [r for r in self.rounds.values() if r.closes_at > self.now]
        if len(open_rounds) != int(story.open_now):
            raise ValueError(f"Demo story {story.title!r}: {len(open_rounds)} open round(s).")
        if planned_start is None:
            planned_start = created_at.date() + 21 * DAY
        return Plan(
            story=story,
            created_at=created_at,
            weekday=self.pilot.cadence_weekday,
            planned_start=planned_start,
            planned_end=planned_start + story.planned_days * DAY,
            final_stage=self.pilot.stage,
            events=self.events,
            rounds=sorted(self.rounds.values(), key=lambda r: r.opens_at),
        )


def plan_story(
    story: Story, team: Team, *, questionnaire: Questionnaire, now: datetime.datetime
) -> Plan:
    """Return the dated events of a demo story up to `now` (nothing is written)."""
    return _Planner(story, team, questionnaire=questionnaire, now=now).plan()


# ---------------------------------------------------------------------------------------------
# Writing it


@dataclass(frozen=True)
class OpenPrompt:
    pilot: Pilot
    round: FeedbackRound
    link: str | None  # None: already answered
    others: list[str]  # the named demo people also invited to this round


@dataclass(frozen=True)
class SeedReport:
    created: list[str]
    existing: list[str]
    open_prompts: list[OpenPrompt]


def seed(
    *, teams: dict[str, Team], tools: dict[str, AITool], users: dict, now: datetime.datetime
) -> SeedReport:
    """Create the demo pilots that are missing, with their past, and mint the open prompt link.

    One transaction: a story that fails leaves nothing behind. Raises ValueError if no default
    questionnaire exists (the migrations create one) or a story does not fit the calendar.
    """
    questionnaire = Questionnaire.objects.filter(is_default=True, is_current=True).first()
    if questionnaire is None:
        raise ValueError("No default questionnaire: run `manage.py migrate` first.")
    questions = list(questionnaire.questions.all())
    existing = set(Pilot.objects.filter(title__in=STORY_TITLES).values_list("title", flat=True))
    plans = [
        plan_story(s, teams[s.team], questionnaire=questionnaire, now=now)
        for s in STORIES
        if s.title not in existing
    ]
    by_title = {p.story.title: p for p in plans}
    events = sorted(
        (e for p in plans for e in p.events),
        key=lambda e: (e.at, STORY_TITLES.index(e.story.title), e.seq),
    )
    with transaction.atomic():
        writer = _Writer(by_title, teams, tools, users, questionnaire, questions, now=now)
        for event in events:
            writer.run(event)
        acknowledge_charter(users, now=now)
        charter_demo.seed_champion(users, teams, now=now)
        open_prompts = mint_open_prompt_links(now=now)
    return SeedReport(
        created=[p.story.title for p in plans],
        existing=[t for t in STORY_TITLES if t in existing],
        open_prompts=open_prompts,
    )


class _Writer:
    def __init__(
        self,
        plans: dict[str, Plan],
        teams: dict[str, Team],
        tools: dict[str, AITool],
        users: dict,
        questionnaire: Questionnaire,
        questions: list[Question],
        *,
        now: datetime.datetime,
    ) -> None:
        self.plans = plans
        self.teams = teams
        self.tools = tools
        self.users = users
        self.questionnaire = questionnaire
        self.questions = questions
        self.now = now
        self.pilots: dict[str, Pilot] = {}
        self.rounds: dict[tuple[str, datetime.date], FeedbackRound] = {}
        self.rngs = {title: random.Random(title) for title in plans}

    def run(self, event: Event) -> None:
        getattr(self, f"_{event.kind}")(event)

    def _create(self, event: Event) -> None:
        story, plan = event.story, self.plans[event.story.title]
        team = self.teams[story.team]
        pilot = Pilot.objects.create(
            title=story.title,
            team=team,
            lead=self.users[story.lead],
            tool=self.tools[story.tool],
            problem=f"{story.title}: the work takes too long and quality varies.",
            hypothesis_intervention=f"using {story.tool} for {story.title.lower()}",
            hypothesis_outcome="save time without losing quality",
            hypothesis_who=f"the {team.name} team",
            hypothesis_signal="people save 30 minutes a week and rate quality 4 or more",
            data_classification=story.data,
            risk_level=story.risk,
            planned_start=plan.planned_start,
            planned_end=plan.planned_end,
            cadence=story.cadence,
            cadence_weekday=plan.weekday,
            response_window_days=story.window_days,
            # A new draft's "in this stage since" is its creation, as the default would be.
            stage_changed_at=event.at,
        )
        # created_at is set on insert (auto_now_add): date it afterwards.
        Pilot.objects.filter(pk=pilot.pk).update(created_at=event.at)
        SuccessMetric.objects.create(
            pilot=pilot,
            name="Answer quality",
            question_key="quality",
            direction=SuccessMetric.Direction.HIGHER,
            baseline=Decimal("3.2"),
            target=Decimal("4.0"),
            min_responses=5,
        )
        Guardrail.objects.create(
            pilot=pilot,
            kind=Guardrail.Kind.POLICY,
            forbids_data_exposure=True,
            description="No customer personal data goes into prompts.",
        )
        Guardrail.objects.create(
            pilot=pilot,
            kind=Guardrail.Kind.METRIC,
            description="Trust stays at 3 or more",
            question_key="trust",
            statistic=Guardrail.Statistic.MEAN,
            comparator=Guardrail.Comparator.GE,
            threshold=Decimal("3"),
            action=Guardrail.Action.PAUSE,
        )
        members = list(
            get_user_model()
            .objects.filter(memberships__team=team)
            .exclude(pk=pilot.lead_id)
            .exclude(username__contains="-agent-")
            # The champion supports the team's pilots without taking part in the stories.
            .exclude(username=charter_demo.DEMO_CHAMPION)
            .order_by("pk")
        )
        if plan.final_stage not in ACTIVE_STAGES:
            members = [u for u in members if u.username != DEMO_PARTICIPANT]
        if plan.rounds:
            members += _colleagues(team, PARTICIPANTS - len(members))
        Participation.objects.bulk_create(
            [Participation(pilot=pilot, user=u, joined_at=event.at) for u in members]
        )
        self.pilots[story.title] = pilot

    def _move(self, event: Event) -> None:
        step, source = event.detail
        conclusion = step.conclusion
        if conclusion is not None and lifecycle.find_transition(source, step.action).target == (
            Stage.APPROVED
        ):
            # A standard's scope: re-certified a year after its approval.
            conclusion = dataclasses.replace(
                conclusion,
                approval=approvals.Scope.build(
                    use=DEMO_APPROVED_USE,
                    max_data_classification=self.pilots[event.story.title].data_classification,
                    recertify_on=timezone.localdate(event.at) + datetime.timedelta(days=365),
                ),
            )
        lifecycle.move(
            self.pilots[event.story.title].pk,
            step.action,
            actor=self.users[step.actor],
            expected_stage=source,
            rationale=step.rationale,
            now=event.at,
            conclusion=conclusion,
        )

    def _reviews(self, event: Event) -> None:
        for kind in Review.Kind.values:
            record_review(
                self.pilots[event.story.title].pk,
                actor=self.users[event.detail.actor],
                kind=kind,
                outcome=Review.Outcome.CLEARED,
                reviewed_on=event.at.astimezone(
                    ZoneInfo(self.teams[event.story.team].timezone)
                ).date(),
            )

    def _open(self, event: Event) -> None:
        planned: PlannedRound = event.detail
        pilot = self.pilots[event.story.title]
        round_ = FeedbackRound.objects.create(
            pilot=pilot,
            questionnaire=self.questionnaire,
            period_start=planned.period_start,
            opens_at=planned.opens_at,
            closes_at=planned.closes_at,
            anonymous=pilot.anonymous_feedback,
        )
        self.rounds[(event.story.title, planned.period_start)] = round_
        scheduling.create_prompts([round_.pk], now=planned.opens_at)
        # Open now: mint_open_prompt_links gives the demo participant's invitation its link;
        # the others are emailed by the worker (the console backend by default).
        invitations.queue_invitations([round_.pk])
        if planned.closes_at > self.now:
            return
        # A past round: its invitations went out when it opened, and most people answered.
        _mark_sent(Delivery.objects.filter(batch=invitations.batch_of(round_.pk)), planned.opens_at)
        rng = self.rngs[event.story.title]
        prompts = list(round_.prompts.select_related("participant").order_by("pk"))
        answering = rng.sample(prompts, max(min(len(prompts), 5), round(len(prompts) * 0.8)))
        quality = event.story.quality.get(planned.stage, FIRST_TRIES)
        for prompt in answering:
            response = Response.objects.create(
                round=round_, respondent=None if round_.anonymous else prompt.participant
            )
            Answer.objects.bulk_create(_answers(response, self.questions, rng, quality))
        Prompt.objects.filter(pk__in=[p.pk for p in answering]).update(answered=True)

    def _close(self, event: Event) -> None:
        planned: PlannedRound = event.detail
        round_ = self.rounds[(event.story.title, planned.period_start)]
        scheduling.close_round(round_.pk, now=planned.closes_at)
        # At once rather than by the worker: the next move's gates read its outcome.
        guardrails.evaluate_round(round_.pk)


def _colleagues(team: Team, count: int) -> list:
    """Return `count` anonymous demo colleagues of a team (no password: they never sign in)."""
    user_model = get_user_model()
    people = []
    for i in range(1, count + 1):
        username = f"{team.slug}-agent-{i}"
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@example.com",
                "first_name": "Agent",
                "last_name": str(i),
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(team=team, user=user)
        people.append(user)
    return people


def _mark_sent(deliveries, when: datetime.datetime) -> None:
    """Record demo invitations as sent when their round opened (the demo sends no email)."""
    deliveries.filter(status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.SENT, sent_at=when, claimed_at=when, attempts=1
    )


def _answers(
    response: Response, questions: list[Question], rng: random.Random, quality: tuple
) -> list[Answer]:
    incident = rng.random() < 0.08
    answers = []
    for q in questions:
        value: dict = {}
        if q.key == "minutes_saved":
            value["number"] = Decimal(max(0, min(2400, round(rng.gauss(70, 40)))))
        elif q.key == "quality":
            value["number"] = Decimal(rng.choices(range(1, 6), weights=quality)[0])
        elif q.key == "trust":
            value["number"] = Decimal(rng.choices(range(1, 6), weights=TRUST)[0])
        elif q.key == "recommend":
            value["number"] = Decimal(rng.choices(range(4, 11), weights=[1, 1, 2, 3, 4, 3, 2])[0])
        elif q.key == "incident":
            value["boolean"] = incident
        elif q.key == "incident_kind":
            if not incident:
                continue
            value["text"] = rng.choice(["wrong_output_acted_on", "other"])
        elif q.key == "incident_description":
            if not incident:
                continue
            value["text"] = "A suggested reply quoted an outdated refund rule."
        elif q.key == "comment":
            comment = rng.choice(COMMENTS)
            if not comment:
                continue
            value["text"] = comment
        elif q.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
            value["number"] = q.max_value
        else:
            continue
        answers.append(Answer(response=response, question=q, **value))
    return answers


def acknowledge_charter(users: dict, *, now: datetime.datetime) -> int:
    """Publish the demo's usage charter (unless one is) and acknowledge it for every demo
    participant of every demo pilot, as if they had read it: the walk-through's invitations go
    out as before. Return how many acknowledgements were added."""
    version = charter.current_version()
    if version is None:
        version = charter.publish(
            actor=users["ops"], body_en=charter_demo.CHARTER_EN, body_fr=charter_demo.CHARTER_FR
        )
    pairs = list(
        Participation.objects.filter(pilot__title__in=STORY_TITLES).values_list(
            "user_id", "pilot_id"
        )
    )
    rules = {pilot_id: charter.policy_guardrails(pilot_id) for pilot_id in {p for _u, p in pairs}}
    rows = [
        Acknowledgement(
            user_id=user_id,
            pilot_id=pilot_id,
            version=version,
            acknowledged_at=now,
            guardrails=rules[pilot_id],
        )
        for user_id, pilot_id in pairs
    ]
    return len(Acknowledgement.objects.bulk_create(rows, ignore_conflicts=True))


def mint_open_prompt_links(*, now: datetime.datetime) -> list[OpenPrompt]:
    """Give each open, unanswered demo prompt of `participant` a new link; describe them all.

    The link counts as the invitation (sent when its round opened); the one it replaces stops
    working, as when a reminder carries a new link.
    """
    found = []
    prompts = (
        Prompt.objects.filter(
            participant__username=DEMO_PARTICIPANT,
            round__status=FeedbackRound.Status.OPEN,
            round__closes_at__gt=now,
            round__pilot__title__in=STORY_TITLES,
        )
        .select_related("round__pilot__team")
        .order_by("round__closes_at", "pk")
    )
    named = [u for u in USERNAMES if u != DEMO_PARTICIPANT]
    for prompt in prompts:
        link = None
        if not prompt.answered:
            token, token_hash = make_token()
            minted = Prompt.objects.filter(pk=prompt.pk, answered=False).update(
                token_hash=token_hash
            )
            _mark_sent(
                Delivery.objects.filter(
                    kind=invitations.INVITATION,
                    subject_id=str(prompt.pk),
                    status__in=[Delivery.Status.QUEUED, Delivery.Status.SENT],
                ),
                prompt.round.opens_at,
            )
            link = invitations.answer_url(token) if minted else None
        others = list(
            prompt.round.prompts.filter(participant__username__in=named)
            .order_by("participant__pk")
            .values_list("participant__username", flat=True)
        )
        found.append(OpenPrompt(prompt.round.pilot, prompt.round, link, others))
    return found
