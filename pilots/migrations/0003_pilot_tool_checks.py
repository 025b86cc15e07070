"""Enforce in PostgreSQL that a pilot's tool is allowed and may receive the pilot's data.

These rules span two tables, so no CHECK constraint can hold them: a trigger does. It fires
on insert, and on update only when the tool or the data classification changes, so a pilot
whose tool is banned later can still be paused, stopped or edited otherwise. The rule names
match the domain's field errors (pilots.registry.validate_tool_and_data). No-op on SQLite.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION pilots_pilot_check_tool() RETURNS trigger AS $$
DECLARE
    tool RECORD;
    ranks text[] := ARRAY['public', 'internal', 'confidential', 'restricted'];
BEGIN
    SELECT approval_status, max_data_classification INTO tool
        FROM pilots_aitool WHERE id = NEW.tool_id;
    IF tool.approval_status = 'not_allowed' THEN
        RAISE EXCEPTION 'pilots_pilot_tool_allowed: tool % is not allowed', NEW.tool_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF array_position(ranks, NEW.data_classification::text)
            > array_position(ranks, tool.max_data_classification::text) THEN
        RAISE EXCEPTION 'pilots_pilot_classification_within_tool: % data exceeds the tool''s %',
            NEW.data_classification, tool.max_data_classification
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_insert ON pilots_pilot;
CREATE TRIGGER pilots_pilot_tool_checks_insert
    BEFORE INSERT ON pilots_pilot
    FOR EACH ROW EXECUTE FUNCTION pilots_pilot_check_tool();
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_update ON pilots_pilot;
CREATE TRIGGER pilots_pilot_tool_checks_update
    BEFORE UPDATE ON pilots_pilot
    FOR EACH ROW
    WHEN (OLD.tool_id IS DISTINCT FROM NEW.tool_id
          OR OLD.data_classification IS DISTINCT FROM NEW.data_classification)
    EXECUTE FUNCTION pilots_pilot_check_tool();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_insert ON pilots_pilot;
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_update ON pilots_pilot;
DROP FUNCTION IF EXISTS pilots_pilot_check_tool();
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
        ("pilots", "0002_stagechange_append_only"),
    ]

    operations = [
        PostgresOnlyRunSQL(FORWARD, BACKWARD),
    ]
