"""French words for the default questionnaire "AI pilot pulse", in every version of it.

Each text is translated only where the question still reads as 0003 wrote it: a version whose
Ops reworded a text or a label keeps that one in its own language (Question.localized falls
back to it) rather than showing a French sentence that says something else. A question that
already carries French (given by Ops) is left alone, and the reverse removes only the French
this migration would have written.
"""

from django.db import migrations

SLUG = "ai-pilot-pulse"

# key -> field -> (the English of 0003, its French); "choices" -> value -> (English, French).
FRENCH = {
    "minutes_saved": {
        "text": (
            "How many minutes did the tool save you this period?",
            "Combien de minutes l’outil vous a-t-il fait gagner sur cette période ?",
        ),
        "help_text": (
            "Your best estimate; 0 if it saved you nothing.",
            "Votre meilleure estimation ; 0 s’il ne vous a rien fait gagner.",
        ),
        "unit": ("minutes", "minutes"),
    },
    "quality": {
        "text": (
            "How good was the tool's output?",
            "Quelle était la qualité de ce que l’outil a produit ?",
        ),
        "min_label": ("Unusable", "Inutilisable"),
        "max_label": ("Excellent", "Excellente"),
    },
    "trust": {
        "text": (
            "How much do you trust the tool's output?",
            "Dans quelle mesure faites-vous confiance à ce que l’outil produit ?",
        ),
        "min_label": ("Not at all", "Pas du tout"),
        "max_label": ("Completely", "Totalement"),
    },
    "recommend": {
        "text": (
            "How likely are you to recommend this tool to a colleague?",
            "Quelle est la probabilité que vous recommandiez cet outil à un collègue ?",
        ),
        "min_label": ("Not at all likely", "Pas du tout probable"),
        "max_label": ("Extremely likely", "Extrêmement probable"),
    },
    "incident": {
        "text": (
            "Did anything go wrong with the tool this period (an incident)?",
            "L’outil vous a-t-il posé problème sur cette période (un incident) ?",
        ),
    },
    "incident_kind": {
        "text": ("What kind of incident?", "De quel type d’incident s’agit-il ?"),
        "choices": {
            "confidential_data_exposed": (
                "Confidential data exposed",
                "Données confidentielles exposées",
            ),
            "wrong_output_acted_on": (
                "Wrong output acted on",
                "Action fondée sur un résultat erroné",
            ),
            "other": ("Other", "Autre"),
        },
    },
    "incident_description": {
        "text": ("What happened?", "Que s’est-il passé ?"),
        "help_text": (
            "Describe the incident without personal or confidential data.",
            "Décrivez l’incident sans données personnelles ni confidentielles.",
        ),
    },
    "comment": {
        "text": ("Anything else you want to tell us?", "Autre chose à nous dire ?"),
    },
}


def french_for(question) -> dict:
    """The French this migration gives a question of the pulse (empty if nothing matches)."""
    spec = FRENCH.get(question.key, {})
    if question.language != "en":
        return {}
    french = {}
    for field, words in spec.items():
        if field == "choices":
            labels = {
                str(choice[0]): words[str(choice[0])][1]
                for choice in question.choices or []
                if isinstance(choice, (list, tuple))
                and len(choice) >= 2
                and str(choice[0]) in words
                and str(choice[1]) == words[str(choice[0])][0]
            }
            if labels:
                french["choices"] = labels
        elif getattr(question, field) == words[0]:
            french[field] = words[1]
    return french


def pulse_questions(apps):
    Question = apps.get_model("feedback", "Question")
    return Question.objects.filter(questionnaire__slug=SLUG, key__in=FRENCH).order_by("pk")


def add_french(apps, schema_editor):
    for question in pulse_questions(apps):
        translations = dict(question.translations or {})
        french = french_for(question)
        if not french or "fr" in translations:
            continue
        translations["fr"] = french
        question.translations = translations
        question.save(update_fields=["translations"])


def remove_french(apps, schema_editor):
    for question in pulse_questions(apps):
        translations = dict(question.translations or {})
        if "fr" in translations and translations["fr"] == french_for(question):
            del translations["fr"]
            question.translations = translations
            question.save(update_fields=["translations"])


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0005_question_language_translations"),
    ]

    operations = [
        migrations.RunPython(add_french, remove_french),
    ]
