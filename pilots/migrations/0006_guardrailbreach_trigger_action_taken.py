"""Breaches say what triggered them and what the system did about them.

- trigger (metric | exposure): a metric guardrail still breaks once per round (the unique
  constraint keeps its name, now limited to metric breaches); an exposure guardrail has at most
  one OPEN breach per round, so a further exposure reported after a resolution is a new breach.
  exposure_reports keeps the count an exposure breach was recorded at, so a repeated task does
  not re-open it.
- action_taken (flagged | paused | pause_refused | not_running): the email and the pages word
  the outcome from it instead of from the guardrail's intended action.
Existing rows: breaches of non-metric guardrails become exposure breaches; a breach whose detail
is the rationale of a system pause was paused, other breaches of pausing guardrails were not.
"""

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    Breach = apps.get_model("pilots", "GuardrailBreach")
    StageChange = apps.get_model("pilots", "StageChange")
    Breach.objects.exclude(guardrail__kind="metric").update(trigger="exposure")
    for breach in Breach.objects.filter(guardrail__action="pause").iterator():
        # The system's pause carries the breach's detail as its rationale.
        paused = StageChange.objects.filter(
            pilot_id=breach.pilot_id,
            actor__isnull=True,
            to_stage="paused",
            rationale=breach.detail,
        ).exists()
        breach.action_taken = "paused" if paused else "pause_refused"
        breach.save(update_fields=["action_taken"])


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_ai_pilot_pulse_questionnaire"),
        ("pilots", "0005_review_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="guardrailbreach",
            name="pilots_guardrailbreach_once_per_round",
        ),
        migrations.AddField(
            model_name="guardrailbreach",
            name="action_taken",
            field=models.CharField(
                choices=[
                    ("flagged", "Flagged to Ops"),
                    ("paused", "Pilot paused"),
                    ("pause_refused", "Pause refused: the pilot is still running"),
                    ("not_running", "Nothing to pause: the pilot was not running"),
                ],
                default="flagged",
                editable=False,
                max_length=13,
                verbose_name="action taken",
            ),
        ),
        migrations.AddField(
            model_name="guardrailbreach",
            name="exposure_reports",
            field=models.PositiveIntegerField(
                blank=True, editable=False, null=True, verbose_name="exposure reports seen"
            ),
        ),
        migrations.AddField(
            model_name="guardrailbreach",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("metric", "Metric threshold"),
                    ("exposure", "Confidential data exposure"),
                ],
                default="metric",
                editable=False,
                max_length=8,
                verbose_name="trigger",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="guardrailbreach",
            constraint=models.UniqueConstraint(
                condition=models.Q(("trigger", "metric")),
                fields=("guardrail", "round"),
                name="pilots_guardrailbreach_once_per_round",
            ),
        ),
        migrations.AddConstraint(
            model_name="guardrailbreach",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resolved_at__isnull", True), ("trigger", "exposure")),
                fields=("guardrail", "round"),
                name="pilots_guardrailbreach_exposure_one_open_per_round",
            ),
        ),
        migrations.AddConstraint(
            model_name="guardrailbreach",
            constraint=models.CheckConstraint(
                condition=models.Q(("trigger__in", ["metric", "exposure"])),
                name="pilots_guardrailbreach_trigger_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="guardrailbreach",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("action_taken__in", ["flagged", "paused", "pause_refused", "not_running"])
                ),
                name="pilots_guardrailbreach_action_taken_valid",
            ),
        ),
    ]
