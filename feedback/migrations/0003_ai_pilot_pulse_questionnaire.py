"""Create the default questionnaire "AI pilot pulse" (its question keys are a contract)."""

from django.db import migrations

SLUG = "ai-pilot-pulse"

INCIDENT_KINDS = [
    ["confidential_data_exposed", "Confidential data exposed"],
    ["wrong_output_acted_on", "Wrong output acted on"],
    ["other", "Other"],
]

QUESTIONS = [
    dict(key="minutes_saved", kind="number", unit="minutes", min_value=0, max_value=2400,
         text="How many minutes did the tool save you this period?",
         help_text="Your best estimate; 0 if it saved you nothing."),
    dict(key="quality", kind="scale", min_value=1, max_value=5,
         min_label="Unusable", max_label="Excellent",
         text="How good was the tool's output?"),
    dict(key="trust", kind="scale", min_value=1, max_value=5,
         min_label="Not at all", max_label="Completely",
         text="How much do you trust the tool's output?"),
    dict(key="recommend", kind="scale", min_value=0, max_value=10,
         min_label="Not at all likely", max_label="Extremely likely",
         text="How likely are you to recommend this tool to a colleague?"),
    dict(key="incident", kind="yes_no",
         text="Did anything go wrong with the tool this period (an incident)?"),
    dict(key="incident_kind", kind="choice", choices=INCIDENT_KINDS, required=False,
         shown_if_key="incident", shown_if_value="yes",
         text="What kind of incident?"),
    dict(key="incident_description", kind="text", required=False,
         shown_if_key="incident", shown_if_value="yes",
         text="What happened?",
         help_text="Describe the incident without personal or confidential data."),
    dict(key="comment", kind="text", required=False,
         text="Anything else you want to tell us?"),
]


def create_pulse(apps, schema_editor):
    Questionnaire = apps.get_model("feedback", "Questionnaire")
    Question = apps.get_model("feedback", "Question")
    if Questionnaire.objects.filter(slug=SLUG).exists():
        return
    # Only one questionnaire may be the default (feedback_questionnaire_one_default).
    has_default = Questionnaire.objects.filter(is_default=True).exists()
    questionnaire = Questionnaire.objects.create(
        slug=SLUG, version=1, name="AI pilot pulse", is_current=True,
        is_default=not has_default)
    for position, spec in enumerate(QUESTIONS, start=1):
        Question.objects.create(questionnaire=questionnaire, position=position, **spec)


def remove_pulse(apps, schema_editor):
    Questionnaire = apps.get_model("feedback", "Questionnaire")
    Questionnaire.objects.filter(slug=SLUG, rounds__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0002_link_rounds_to_pilots"),
    ]

    operations = [
        migrations.RunPython(create_pulse, remove_pulse),
    ]
