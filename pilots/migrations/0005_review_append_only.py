"""Make reviews append-only, like the stage-change audit: PostgreSQL refuses UPDATE and DELETE.

A review feeds the gate to "approved standard"; a newer review supersedes an older one instead
of rewriting it. The pilot is protected by its reviews (no cascade into a refused delete).
TRUNCATE is left alone (row triggers do not fire on it): test databases are flushed with it.
On SQLite the trigger is not installed; the application never updates or deletes reviews.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION pilots_review_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pilots_review is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_review_append_only ON pilots_review;
CREATE TRIGGER pilots_review_append_only
    BEFORE UPDATE OR DELETE ON pilots_review
    FOR EACH ROW EXECUTE FUNCTION pilots_review_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS pilots_review_append_only ON pilots_review;
DROP FUNCTION IF EXISTS pilots_review_refuse_change();
"""


class PostgresOnlyRunSQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("pilots", "0004_guardrailbreach_ops_notification_state"),
    ]

    operations = [
        migrations.AlterField(
            model_name="review",
            name="pilot",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reviews",
                to="pilots.pilot",
            ),
        ),
        PostgresOnlyRunSQL(FORWARD, BACKWARD),
    ]
