"""A draft may hold data above its tool's ceiling; leaving draft may not (PostgreSQL trigger).

A draft opened from a tool declaration keeps the data the person said they use, while the tool
it registered starts at the public ceiling until Ops set it (pilots.declarations). The domain
refuses the submission (lifecycle re-checks tool and data on entering proposed); the database
now holds the same rule: the ceiling is checked for every pilot that is not a draft, and again
when a draft leaves the draft stage. A tool that is not allowed is refused at any stage, as
before. No-op on SQLite.
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
    IF NEW.stage <> 'draft'
            AND array_position(ranks, NEW.data_classification::text)
                > array_position(ranks, tool.max_data_classification::text) THEN
        RAISE EXCEPTION 'pilots_pilot_classification_within_tool: % data exceeds the tool''s %',
            NEW.data_classification, tool.max_data_classification
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_update ON pilots_pilot;
CREATE TRIGGER pilots_pilot_tool_checks_update
    BEFORE UPDATE ON pilots_pilot
    FOR EACH ROW
    WHEN (OLD.tool_id IS DISTINCT FROM NEW.tool_id
          OR OLD.data_classification IS DISTINCT FROM NEW.data_classification
          OR (OLD.stage = 'draft' AND NEW.stage <> 'draft'))
    EXECUTE FUNCTION pilots_pilot_check_tool();
"""

BACKWARD = """
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
DROP TRIGGER IF EXISTS pilots_pilot_tool_checks_update ON pilots_pilot;
CREATE TRIGGER pilots_pilot_tool_checks_update
    BEFORE UPDATE ON pilots_pilot
    FOR EACH ROW
    WHEN (OLD.tool_id IS DISTINCT FROM NEW.tool_id
          OR OLD.data_classification IS DISTINCT FROM NEW.data_classification)
    EXECUTE FUNCTION pilots_pilot_check_tool();
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
        ("pilots", "0009_ops_group_can_view_users"),
    ]

    operations = [
        PostgresOnlyRunSQL(FORWARD, BACKWARD),
    ]
