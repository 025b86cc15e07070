"""Aggregated results of a closed round, computed in the database and stored as a snapshot.

Three queries whatever the number of responses (two when the caller passes the response count):
the round's questions, the number of responses, and one scan of the answers counting each
(question, value). Count, mean, sample sd, median, distribution, NPS, yes/no counts, choice
counts and comments all follow exactly from those counts, identically on SQLite and PostgreSQL.

Anonymity: nothing that could identify a person is stored. Below the threshold
(settings.FEEDBACK_ANONYMITY_THRESHOLD, never below 3) the snapshot keeps only the round's
number of responses (and invitations): no question at all, not even how many answered it.
In a round that meets it, every question's figures — number, scale, yes/no, choice and free
text alike, and its count of answers `n` — need that many answers to the question itself: an
average of two answers tells each of the two the other's answer, "yes 1, no 1" among two people
says just as much, "incident_kind n=1" says that one person reported an incident, and the one
description of that incident would be quoted verbatim. A withheld question says only that it
is withheld, the same whether nobody or a few answered it. Incidents follow their questions:
the incident count is stored only when the incident question is shown, and the count per kind
only when the incident-kind question itself has at least threshold answers. Hiding at display
time would leak through exports and the API, so the figures are never stored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from . import savings, stats
from .anonymity import anonymity_threshold
from .models import (
    Answer,
    FeedbackRound,
    LocalizedQuestion,
    Prompt,
    Question,
    Response,
    RoundQuestionSummary,
    response_rate,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

# Version 2 stores each number and scale question's step (version 1 results: a step of 1).
RESULTS_VERSION = 2
INCIDENT_KEY = "incident"
INCIDENT_KIND_KEY = "incident_kind"
NUMERIC_KINDS = (Question.Kind.SCALE, Question.Kind.NUMBER)


def _float(value) -> float | None:
    return None if value is None else float(value)


def grid_of(kind: str, *, min_value, max_value, step) -> stats.Grid:
    """The answers a number or scale question allows, as feedback.stats judges them.

    A number question whose minimum is 0 and whose step is a whole number asks for a count
    (incidents, errors, minutes): skewed, judged with the count interval. Declared by the
    question, never guessed from its answers (see feedback.stats).
    """
    step = stats.DEFAULT_STEP if step is None else float(step)
    minimum, maximum = _float(min_value), _float(max_value)
    counts = kind == Question.Kind.NUMBER and minimum == 0 and step == int(step)
    return stats.Grid(step=step, minimum=minimum, maximum=maximum, counts=counts)


def entry_grid(entry: dict) -> stats.Grid:
    """The grid of a stored question result (results of version 1 stored no step: 1)."""
    return grid_of(
        entry.get("kind", ""),
        min_value=entry.get("min_value"),
        max_value=entry.get("max_value"),
        step=entry.get("step"),
    )


def _question_result(question: Question, *, n: int, shown: bool) -> dict:
    entry = {
        "key": question.key,
        "text": question.text,
        "kind": question.kind,
        "unit": question.unit,
        "shown": shown,
    }
    if shown:
        # Only a count that meets the threshold: "incident_kind n=1" in a round of six would
        # say that one of them reported an incident.
        entry["n"] = n
    return entry


def _count_of(model) -> Subquery:
    return Subquery(
        model.objects.filter(round_id=OuterRef("pk"))
        .order_by()
        .values("round_id")
        .annotate(n=Count("pk"))
        .values("n")
    )


def round_figures(feedback_round: FeedbackRound) -> tuple[int, int, dict]:
    """Return (invited, responses, results) of a round, as its close stores them.

    Three queries: both counts in one statement, the round's questions, one scan of its
    answers (compute_results). Run it after locking the round (close_round): a statement
    that began before the lock was granted would not see answers committed meanwhile.
    """
    invited, responses = (
        FeedbackRound.objects.filter(pk=feedback_round.pk)
        .values_list(
            Coalesce(_count_of(Prompt), 0),
            Coalesce(_count_of(Response), 0),
        )
        .get()
    )
    feedback_round.invited_count = invited
    return invited, responses, compute_results(feedback_round, responses=responses)


def compute_results(feedback_round: FeedbackRound, *, responses: int | None = None) -> dict:
    """Return the round's aggregated results, to be stored on the round when it closes.

    `responses` is the round's response count when the caller has just counted it.
    """
    threshold = anonymity_threshold()
    questions = list(
        Question.objects.filter(
            Q(questionnaire_id=feedback_round.questionnaire_id)
            | Q(pilot_id=feedback_round.pilot_id)
        ).order_by(F("pilot_id").asc(nulls_first=True), "position", "pk")
    )
    if responses is None:
        responses = Response.objects.filter(round=feedback_round).count()
    # One scan of the round's answers: a count per (question, value). Every figure below is
    # computed exactly from these counts, the same way on every database (SQLite's sample sd
    # of a single value raises; PostgreSQL's percentile_cont is not SQLite's median).
    per_number: dict[int, dict[float, int]] = defaultdict(dict)
    per_boolean: dict[int, dict[bool, int]] = defaultdict(dict)
    per_text: dict[int, dict[str, int]] = defaultdict(dict)
    for question_id, number, boolean, text, count in (
        Answer.objects.filter(response__round=feedback_round)
        .order_by()
        .values_list("question_id", "number", "boolean", "text")
        .annotate(count=Count("id"))
    ):
        if number is not None:
            value = float(number)
            per_number[question_id][value] = per_number[question_id].get(value, 0) + count
        elif boolean is not None:
            per_boolean[question_id][boolean] = count
        elif text:
            per_text[question_id][text] = count

    invited = feedback_round.invited_count
    round_shown = responses >= threshold
    result: dict = {
        "version": RESULTS_VERSION,
        "threshold": threshold,
        "invited": invited,
        "responses": responses,
        "response_rate": response_rate(responses, invited),
        "shown": round_shown,
        "questions": [],
        "incidents": None,
        "comments": [],
    }
    for question in questions:
        pk = question.pk
        if question.kind in NUMERIC_KINDS:
            counts = per_number[pk]
            summary = stats.summary_of_counts(counts)
            entry = _question_result(
                question, n=summary.n, shown=round_shown and summary.n >= threshold
            )
            if entry["shown"]:
                grid = grid_of(
                    question.kind,
                    min_value=question.min_value,
                    max_value=question.max_value,
                    step=question.step,
                )
                interval = stats.interval(summary, grid=grid)
                entry.update(
                    mean=summary.mean,
                    sd=summary.sd,
                    median=stats.median_of_counts(counts),
                    ci=[interval.low, interval.high] if interval else None,
                    distribution=[[value, count] for value, count in sorted(counts.items())],
                    min_value=_float(question.min_value),
                    max_value=_float(question.max_value),
                    step=float(question.step),
                )
                if question.kind == Question.Kind.SCALE and (
                    question.min_value == 0 and question.max_value == 10
                ):
                    entry["nps"] = stats.nps(counts)
        elif question.kind == Question.Kind.YES_NO:
            counts = per_boolean[pk]
            n = sum(counts.values())
            entry = _question_result(question, n=n, shown=round_shown and n >= threshold)
            if entry["shown"]:
                entry.update(yes=counts.get(True, 0), no=counts.get(False, 0))
        elif question.kind == Question.Kind.CHOICE:
            counts = per_text[pk]
            n = sum(counts.values())
            entry = _question_result(question, n=n, shown=round_shown and n >= threshold)
            if entry["shown"]:
                labels = {
                    str(c[0]): str(c[1])
                    for c in question.choices or []
                    if isinstance(c, list | tuple) and len(c) >= 2
                }
                entry["choices"] = [
                    [value, labels.get(value, value), counts.get(value, 0)]
                    for value in [*labels, *sorted(set(counts) - set(labels))]
                ]
        else:
            counts = per_text[pk]
            n = sum(counts.values())
            entry = _question_result(question, n=n, shown=round_shown and n >= threshold)
            if entry["shown"]:
                # Sorted, so their order says nothing about who answered or when.
                result["comments"].extend(
                    {"question": question.key, "text": text}
                    for text, count in sorted(counts.items())
                    for _ in range(count)
                )
        if round_shown:
            result["questions"].append(entry)

    by_key = {q["key"]: q for q in result["questions"]}
    if by_key.get(INCIDENT_KEY, {}).get("shown"):
        # "choices" exists only when the kind question itself passed the threshold.
        kinds = by_key.get(INCIDENT_KIND_KEY, {}).get("choices", [])
        result["incidents"] = {
            "count": by_key[INCIDENT_KEY].get("yes", 0),
            "by_kind": [[value, label, count] for value, label, count in kinds if count],
        }
    return result


# ---------------------------------------------------------------------------------------------
# Showing stored results in the reader's language
#
# A snapshot stores each question's text and choice labels as written when the round closed.
# Pages and exports word them from the question itself (by key, through Question.localized),
# so a French reader reads French whatever language the question was written in; the stored
# words are only the fallback for a question that no longer exists.


class QuestionWords:
    """The words of the questions behind some rounds' results, in one language."""

    def __init__(
        self,
        by_questionnaire: dict[int, dict[str, LocalizedQuestion]],
        by_pilot: dict[int, dict[str, LocalizedQuestion]],
    ) -> None:
        self.by_questionnaire = by_questionnaire
        self.by_pilot = by_pilot

    def for_round(self, feedback_round: FeedbackRound) -> dict[str, LocalizedQuestion]:
        """The words of a round's questions by key: its questionnaire's, then its pilot's own."""
        return {
            **self.by_pilot.get(feedback_round.pilot_id, {}),
            **self.by_questionnaire.get(feedback_round.questionnaire_id, {}),
        }


def question_words(
    rounds: Iterable[FeedbackRound], *, language: str | None = None
) -> QuestionWords:
    """Fetch, in one query, the words of the questions these rounds' results list.

    `language` defaults to the active one. No query when no round stored any question.
    """
    rounds = [r for r in rounds if (r.results or {}).get("questions")]
    by_questionnaire: dict[int, dict[str, LocalizedQuestion]] = defaultdict(dict)
    by_pilot: dict[int, dict[str, LocalizedQuestion]] = defaultdict(dict)
    if rounds:
        questionnaires = {r.questionnaire_id for r in rounds}
        pilots = {r.pilot_id for r in rounds}
        for question in Question.objects.filter(
            Q(questionnaire_id__in=questionnaires) | Q(pilot_id__in=pilots)
        ):
            words = question.localized(language)
            if question.questionnaire_id is not None:
                by_questionnaire[question.questionnaire_id][question.key] = words
            else:
                by_pilot[question.pilot_id][question.key] = words
    return QuestionWords(dict(by_questionnaire), dict(by_pilot))


def localized_result(entry: dict, words: LocalizedQuestion | None) -> dict:
    """A question's stored result with its text, unit and choice labels in `words`.

    Without words (the question no longer exists) the stored ones stay. The figures are the
    stored ones in every case.
    """
    if words is None:
        return entry
    shown = {**entry, "text": words.text, "unit": words.unit, "language": words.language}
    if entry.get("choices"):
        labels = dict(words.choices)
        shown["choices"] = [
            [value, labels.get(str(value), label), count]
            for value, label, count in entry["choices"]
        ]
    return shown


def localized_incidents(incidents: dict | None, words: LocalizedQuestion | None) -> dict | None:
    """A round's stored incident counts with the kinds' labels in `words` (else as stored)."""
    if not incidents or words is None:
        return incidents
    labels = dict(words.choices)
    return {
        **incidents,
        "by_kind": [
            [value, labels.get(str(value), label), count]
            for value, label, count in incidents.get("by_kind", [])
        ],
    }


def question_result(results: dict | None, key: str) -> dict | None:
    """The stored result of one question of a round, by key (None if absent)."""
    if not results:
        return None
    for entry in results.get("questions", []):
        if entry.get("key") == key:
            return entry
    return None


def summary_of(results: dict | None, key: str) -> stats.Summary | None:
    """The (n, mean, sd) of a shown question of a round, with its grid, else None.

    A yes/no question counts yes as 1 and no as 0: its mean is the share of yes answers, and
    the summary is marked as a proportion so it is judged with the Wilson interval.
    """
    return summary_of_entry(question_result(results, key))


def summary_of_entry(entry: dict | None) -> stats.Summary | None:
    """`summary_of` for one stored question result (from `question_result`)."""
    if not entry or not entry.get("shown"):
        return None
    if entry.get("mean") is not None:
        return stats.Summary(entry["n"], entry["mean"], entry.get("sd"), grid=entry_grid(entry))
    if entry.get("yes") is not None:
        yes, no = entry["yes"], entry.get("no", 0)
        n = yes + no
        if not n:
            return None
        # Sample variance of 0/1 answers: yes·no / (n·(n − 1)).
        sd = math.sqrt(yes * no / (n * (n - 1))) if n > 1 else None
        return stats.Summary(n, yes / n, sd, proportion=True)
    return None


def summary_fields(entry: dict | None) -> dict | None:
    """A RoundQuestionSummary's columns for one stored question result: `summary_of_entry`'s
    (n, mean, sd), proportion and grid, or None when the stored result shows no figure."""
    summary = summary_of_entry(entry)
    if summary is None or summary.n < 1 or summary.mean is None:
        return None
    grid = summary.grid
    return {
        "key": entry["key"],
        "n": summary.n,
        "mean": summary.mean,
        "sd": summary.sd,
        "proportion": summary.proportion,
        "step": grid.step if grid else None,
        "min_value": grid.minimum if grid else None,
        "max_value": grid.maximum if grid else None,
        "counts": grid.counts if grid else False,
    }


def store_summaries(rounds: Iterable[FeedbackRound]) -> int:
    """Write each round's RoundQuestionSummary rows from its stored results (replacing any).

    Called in close_round's transaction right after the results are saved; the rows say what
    the stored results say (a withheld question, or a round below the threshold, has none).
    Then the rounds' pilots' pooled minutes saved are rewritten from them (`savings.store`).
    Six queries whatever the number of rounds. Returns the number of summary rows written.
    """
    rounds = list(rounds)
    RoundQuestionSummary.objects.filter(round__in=[r.pk for r in rounds]).delete()
    rows = []
    for round_ in rounds:
        first: dict[str, dict] = {}
        for entry in (round_.results or {}).get("questions", []):
            # question_result reads the first entry of a key: so do the rows.
            first.setdefault(entry.get("key"), entry)
        for entry in first.values():
            fields = summary_fields(entry)
            if fields is not None:
                rows.append(RoundQuestionSummary(round=round_, **fields))
    RoundQuestionSummary.objects.bulk_create(rows)
    savings.store(r.pilot_id for r in rounds)
    return len(rows)
