"""Write the question summary rows of rounds closed before close_round wrote them.

From each closed round's stored results, exactly as feedback.results.store_summaries does
(a copy of its rules as of this migration, so later changes there cannot change history):
a row per question whose stored entry is shown and carries a mean, or yes/no counts with at
least one answer; the first entry of a key only. A withheld question or a round below the
anonymity threshold stored no figure, so it gets no row. Reversible: the rows are dropped.
"""

import math

from django.db import migrations

BATCH = 500


def _float(value):
    return None if value is None else float(value)


def fields_of(entry):
    """The row's columns for one stored question result, or None (no figure shown)."""
    if not entry or not entry.get("shown"):
        return None
    if entry.get("mean") is not None:
        if not entry.get("n"):
            return None
        step = 1.0 if entry.get("step") is None else float(entry["step"])
        minimum, maximum = _float(entry.get("min_value")), _float(entry.get("max_value"))
        return {
            "n": entry["n"],
            "mean": entry["mean"],
            "sd": entry.get("sd"),
            "proportion": False,
            "step": step,
            "min_value": minimum,
            "max_value": maximum,
            "counts": entry.get("kind", "") == "number" and minimum == 0 and step == int(step),
        }
    if entry.get("yes") is not None:
        yes, no = entry["yes"], entry.get("no", 0)
        n = yes + no
        if not n:
            return None
        return {
            "n": n,
            "mean": yes / n,
            "sd": math.sqrt(yes * no / (n * (n - 1))) if n > 1 else None,
            "proportion": True,
            "step": None,
            "min_value": None,
            "max_value": None,
            "counts": False,
        }
    return None


def backfill(apps, schema_editor):
    FeedbackRound = apps.get_model("feedback", "FeedbackRound")
    Summary = apps.get_model("feedback", "RoundQuestionSummary")
    rows = []
    closed = FeedbackRound.objects.filter(status="closed", results__isnull=False)
    for round_ in closed.only("pk", "results").iterator(chunk_size=BATCH):
        first = {}
        for entry in (round_.results or {}).get("questions", []):
            first.setdefault(entry.get("key"), entry)
        for key, entry in first.items():
            fields = fields_of(entry)
            if fields is not None:
                rows.append(Summary(round_id=round_.pk, key=key, **fields))
        if len(rows) >= BATCH:
            Summary.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    Summary.objects.bulk_create(rows, ignore_conflicts=True)


def drop(apps, schema_editor):
    apps.get_model("feedback", "RoundQuestionSummary").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0012_round_question_summaries"),
    ]

    operations = [
        migrations.RunPython(backfill, drop),
    ]
