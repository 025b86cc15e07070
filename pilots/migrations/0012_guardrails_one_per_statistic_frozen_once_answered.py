"""Guardrails: one per question and statistic, and frozen once a round of the pilot is answered.

Several thresholds on the same statistic of the same question ("mean of quality ≥ 2 / 3 / 4 /
5") on a round of two answers told Ops, from which of them broke, what both answered. So:
- at most one enabled metric guardrail per (pilot, question, statistic): a unique constraint;
  existing duplicates are disabled (the first one is kept), with the reason recorded;
- once any round of the pilot has a response, its guardrails are frozen: no row is added,
  changed or deleted, except to disable one with a reason (what Ops may still do). A trigger
  holds it on PostgreSQL and on SQLite alike, whatever writes to the table.
"""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

ANSWERED = (
    "EXISTS (SELECT 1 FROM feedback_response r JOIN feedback_feedbackround f"
    " ON r.round_id = f.id WHERE f.pilot_id = {pilot})"
)
# Columns that may change on a frozen guardrail: only disabling it (set once, never undone).
FROZEN_COLUMNS = (
    "kind",
    "description",
    "forbids_data_exposure",
    "question_key",
    "statistic",
    "comparator",
    "threshold",
    "action",
    "pilot_id",
)
MESSAGE = "pilots_guardrail_frozen: a round of this pilot is answered; only disabling is allowed"

POSTGRES_FORWARD = f"""
CREATE OR REPLACE FUNCTION pilots_guardrail_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF {ANSWERED.format(pilot="NEW.pilot_id")} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF {ANSWERED.format(pilot="OLD.pilot_id")} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in FROZEN_COLUMNS)}
            OR (OLD.disabled_at IS NOT NULL AND (NEW.disabled_at IS DISTINCT FROM OLD.disabled_at
                OR NEW.disabled_reason IS DISTINCT FROM OLD.disabled_reason)))
            AND {ANSWERED.format(pilot="OLD.pilot_id")} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_guardrail_frozen ON pilots_guardrail;
CREATE TRIGGER pilots_guardrail_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON pilots_guardrail
    FOR EACH ROW EXECUTE FUNCTION pilots_guardrail_frozen();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS pilots_guardrail_frozen ON pilots_guardrail;
DROP FUNCTION IF EXISTS pilots_guardrail_frozen();
"""

_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FROZEN_COLUMNS)
SQLITE_FORWARD = [
    f"""CREATE TRIGGER pilots_guardrail_frozen_insert BEFORE INSERT ON pilots_guardrail
    WHEN {ANSWERED.format(pilot="NEW.pilot_id")}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER pilots_guardrail_frozen_delete BEFORE DELETE ON pilots_guardrail
    WHEN {ANSWERED.format(pilot="OLD.pilot_id")}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER pilots_guardrail_frozen_update BEFORE UPDATE ON pilots_guardrail
    WHEN ({_CHANGED}
          OR (OLD.disabled_at IS NOT NULL AND (NEW.disabled_at IS NOT OLD.disabled_at
              OR NEW.disabled_reason IS NOT OLD.disabled_reason)))
         AND {ANSWERED.format(pilot="OLD.pilot_id")}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS pilots_guardrail_frozen_insert",
    "DROP TRIGGER IF EXISTS pilots_guardrail_frozen_delete",
    "DROP TRIGGER IF EXISTS pilots_guardrail_frozen_update",
]


def freeze(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def unfreeze(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


def disable_duplicates(apps, schema_editor):
    """Keep the first enabled metric guardrail per (pilot, question, statistic); disable others."""
    Guardrail = apps.get_model("pilots", "Guardrail")
    kept: dict[tuple, int] = {}
    for guardrail in Guardrail.objects.filter(kind="metric", disabled_at__isnull=True).order_by(
        "pilot_id", "pk"
    ):
        watch = (guardrail.pilot_id, guardrail.question_key, guardrail.statistic)
        if watch not in kept:
            kept[watch] = guardrail.pk
            continue
        Guardrail.objects.filter(pk=guardrail.pk).update(
            disabled_at=timezone.now(),
            disabled_reason=(
                f"Disabled when guardrails became one per question and statistic: guardrail "
                f"#{kept[watch]} already watches {guardrail.statistic} of “{guardrail.question_key}”."
            ),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0011_guardrailbreach_withheld_below_threshold"),
        ("feedback", "0009_withhold_counts_below_threshold_in_stored_results"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Before the freeze: existing pilots with answers get their duplicates disabled.
        migrations.RunPython(disable_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="guardrail",
            constraint=models.UniqueConstraint(
                condition=models.Q(("disabled_at__isnull", True), ("kind", "metric")),
                fields=("pilot", "question_key", "statistic"),
                name="pilots_guardrail_one_per_question_and_statistic",
            ),
        ),
        migrations.RunPython(freeze, unfreeze),
    ]
