"""Change records are append-only: the database refuses UPDATE and DELETE, on both databases."""

from django.db import migrations

MESSAGE = "core_changerecord_append_only: change records are never changed or deleted"

POSTGRES_FORWARD = f"""
CREATE OR REPLACE FUNCTION core_changerecord_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_changerecord_append_only ON core_changerecord;
CREATE TRIGGER core_changerecord_append_only
    BEFORE UPDATE OR DELETE ON core_changerecord
    FOR EACH ROW EXECUTE FUNCTION core_changerecord_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS core_changerecord_append_only ON core_changerecord;
DROP FUNCTION IF EXISTS core_changerecord_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER core_changerecord_no_update BEFORE UPDATE ON core_changerecord
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER core_changerecord_no_delete BEFORE DELETE ON core_changerecord
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_changerecord_no_update",
    "DROP TRIGGER IF EXISTS core_changerecord_no_delete",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_change_records_followups_outbox")]

    operations = [migrations.RunPython(forward, backward)]
