"""A round keeps the anonymity its pilot had when it opened; a response is named or keyed.

Existing rounds take their pilot's current setting. On PostgreSQL, triggers (rules spanning two
tables, which no CHECK constraint can hold) refuse:
- pilots_pilot_anonymity_fixed: changing a pilot's anonymous_feedback once it has a round;
- feedback_feedbackround_anonymity_fixed: changing a round's anonymous;
- feedback_response_anonymous_unnamed: a response with a respondent in an anonymous round.
The rule names match the domain's errors (pilots.registry.validate_anonymity_change).
"""

from django.conf import settings
from django.db import migrations, models

BACKFILL = """
UPDATE feedback_feedbackround SET anonymous = (
    SELECT anonymous_feedback FROM pilots_pilot
    WHERE pilots_pilot.id = feedback_feedbackround.pilot_id
)
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION pilots_pilot_check_anonymity_fixed() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM feedback_feedbackround WHERE pilot_id = NEW.id) THEN
        RAISE EXCEPTION 'pilots_pilot_anonymity_fixed: pilot % has feedback rounds', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilots_pilot_anonymity_fixed ON pilots_pilot;
CREATE TRIGGER pilots_pilot_anonymity_fixed
    BEFORE UPDATE ON pilots_pilot
    FOR EACH ROW
    WHEN (OLD.anonymous_feedback IS DISTINCT FROM NEW.anonymous_feedback)
    EXECUTE FUNCTION pilots_pilot_check_anonymity_fixed();

CREATE OR REPLACE FUNCTION feedback_feedbackround_refuse_anonymity_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'feedback_feedbackround_anonymity_fixed: round % keeps its anonymity', NEW.id
        USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS feedback_feedbackround_anonymity_fixed ON feedback_feedbackround;
CREATE TRIGGER feedback_feedbackround_anonymity_fixed
    BEFORE UPDATE ON feedback_feedbackround
    FOR EACH ROW
    WHEN (OLD.anonymous IS DISTINCT FROM NEW.anonymous)
    EXECUTE FUNCTION feedback_feedbackround_refuse_anonymity_change();

CREATE OR REPLACE FUNCTION feedback_response_check_anonymous_unnamed() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM feedback_feedbackround WHERE id = NEW.round_id AND anonymous) THEN
        RAISE EXCEPTION 'feedback_response_anonymous_unnamed: round % is anonymous', NEW.round_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS feedback_response_anonymous_unnamed ON feedback_response;
CREATE TRIGGER feedback_response_anonymous_unnamed
    BEFORE INSERT OR UPDATE ON feedback_response
    FOR EACH ROW
    WHEN (NEW.respondent_id IS NOT NULL)
    EXECUTE FUNCTION feedback_response_check_anonymous_unnamed();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS pilots_pilot_anonymity_fixed ON pilots_pilot;
DROP FUNCTION IF EXISTS pilots_pilot_check_anonymity_fixed();
DROP TRIGGER IF EXISTS feedback_feedbackround_anonymity_fixed ON feedback_feedbackround;
DROP FUNCTION IF EXISTS feedback_feedbackround_refuse_anonymity_change();
DROP TRIGGER IF EXISTS feedback_response_anonymous_unnamed ON feedback_response;
DROP FUNCTION IF EXISTS feedback_response_check_anonymous_unnamed();
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
        ("feedback", "0003_ai_pilot_pulse_questionnaire"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="feedbackround",
            name="anonymous",
            field=models.BooleanField(default=True, editable=False, verbose_name="anonymous"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="response",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("respondent__isnull", True), ("edit_key_hash__isnull", True), _connector="OR"
                ),
                name="feedback_response_named_or_keyed",
            ),
        ),
        PostgresOnlyRunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
