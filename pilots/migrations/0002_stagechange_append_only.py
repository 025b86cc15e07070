"""Make the stage-change audit append-only in PostgreSQL itself: UPDATE and DELETE are refused.

TRUNCATE is left alone (row triggers do not fire on it): test databases are flushed with it.
On SQLite this migration does nothing; the application never updates or deletes these rows.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION pilots_stagechange_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pilots_stagechange is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_stagechange_append_only ON pilots_stagechange;
CREATE TRIGGER pilots_stagechange_append_only
    BEFORE UPDATE OR DELETE ON pilots_stagechange
    FOR EACH ROW EXECUTE FUNCTION pilots_stagechange_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS pilots_stagechange_append_only ON pilots_stagechange;
DROP FUNCTION IF EXISTS pilots_stagechange_refuse_change();
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
        ("pilots", "0001_pilot_registry"),
    ]

    operations = [
        PostgresOnlyRunSQL(FORWARD, BACKWARD),
    ]
