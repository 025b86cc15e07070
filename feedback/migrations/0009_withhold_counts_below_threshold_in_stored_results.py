"""Rewrite the results stored by closed rounds to the anonymity rules of today.

Rounds closed before stored, below the threshold, each question's number of answers, and in
shown rounds the count of a withheld question and every comment whatever its question's count
(the one description of a withheld incident was quoted). Each stored snapshot is rewritten as
feedback.results writes it now: below the threshold, only the round's counts; in a shown round,
a withheld question keeps only that it is withheld, and comments of a withheld text question go.
Irreversible by design: putting them back would restore the leak.
"""

from django.conf import settings
from django.db import migrations


def _threshold(results: dict) -> int:
    stored = results.get("threshold")
    configured = max(3, int(getattr(settings, "FEEDBACK_ANONYMITY_THRESHOLD", 5)))
    return max(configured, int(stored or 0))


def withhold(apps, schema_editor):
    FeedbackRound = apps.get_model("feedback", "FeedbackRound")
    for round_ in FeedbackRound.objects.filter(results__isnull=False).iterator():
        results = dict(round_.results)
        threshold = _threshold(results)
        if (results.get("responses") or 0) < threshold:
            results.update(shown=False, questions=[], incidents=None, comments=[])
        else:
            hidden = set()
            questions = []
            for entry in results.get("questions") or []:
                entry = dict(entry)
                if (entry.get("n") or 0) < threshold:
                    entry["shown"] = False
                if not entry.get("shown"):
                    hidden.add(entry.get("key"))
                    entry = {
                        k: entry[k]
                        for k in ("key", "text", "kind", "unit", "shown")
                        if k in entry
                    }
                questions.append(entry)
            results["questions"] = questions
            results["comments"] = [
                c for c in results.get("comments") or [] if c.get("question") not in hidden
            ]
        if results != round_.results:
            round_.results = results
            round_.save(update_fields=["results"])


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0008_question_steps_of_existing_questions"),
    ]

    operations = [
        migrations.RunPython(withhold),
    ]
