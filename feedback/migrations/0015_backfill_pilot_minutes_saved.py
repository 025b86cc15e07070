"""Write the pooled minutes-saved row of every pilot whose rounds closed before close wrote it.

With feedback.savings' own pooling (`pooled`, `figures`), given this migration's historical
models, from the summary rows 0013 backfilled: the rows close_round writes from now on.
Answered rounds are written out (closed, at least one response) as
`FeedbackRound.objects.answered()` selects them. Reversible: the rows are dropped.
"""

from django.db import migrations

BATCH = 500


def backfill(apps, schema_editor):
    from feedback.savings import MINUTES_KEY, figures, pooled

    FeedbackRound = apps.get_model("feedback", "FeedbackRound")
    Summary = apps.get_model("feedback", "RoundQuestionSummary")
    Saved = apps.get_model("feedback", "PilotMinutesSaved")
    pilot_ids = list(
        FeedbackRound.objects.filter(status="closed", response_count__gt=0)
        .order_by("pilot_id")
        .values_list("pilot_id", flat=True)
        .distinct()
    )
    for start in range(0, len(pilot_ids), BATCH):
        ids = pilot_ids[start : start + BATCH]
        answered = FeedbackRound.objects.filter(
            status="closed", response_count__gt=0, pilot_id__in=ids
        )
        found = pooled(answered, Summary.objects, MINUTES_KEY)
        Saved.objects.bulk_create(
            [
                Saved(pilot_id=pk, **figures(summary, n_eff))
                for pk, (summary, n_eff) in found.items()
            ],
            ignore_conflicts=True,
        )


def drop(apps, schema_editor):
    apps.get_model("feedback", "PilotMinutesSaved").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0014_pilot_minutes_saved"),
    ]

    operations = [
        migrations.RunPython(backfill, drop),
    ]
