"""The questionnaire in the reader's language: answer pages, values, a lead's own questions."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from core.exceptions import ValidationFailed
from feedback import pilot_questions
from feedback.models import Answer, FeedbackRound, Question
from tests.factories import FeedbackRoundFactory, PilotFactory, migrated_pulse
from tests.feedback.answering_support import prompt_with_token

pytestmark = pytest.mark.django_db

ANSWERS = {
    "minutes_saved": "45",
    "quality": "4",
    "trust": "2",
    "recommend": "9",
    "incident": "yes",
    "incident_kind": "wrong_output_acted_on",
    "incident_description": "A draft quoted an old refund rule.",
}


def pulse_round(**pilot_kwargs) -> FeedbackRound:
    pilot = PilotFactory(stage="pilot", anonymous_feedback=False, **pilot_kwargs)
    return FeedbackRoundFactory(pilot=pilot, questionnaire=migrated_pulse(), invited_count=10)


def stored_answers() -> list[tuple]:
    return sorted(
        Answer.objects.values_list("question__key", "number", "boolean", "text"),
        key=lambda row: row[0],
    )


def test_a_french_participant_reads_the_questions_scale_ends_choices_and_help_in_french(
    client, participant
):
    _prompt, token = prompt_with_token(pulse_round(), participant)

    html = client.get(
        reverse("feedback_answer", args=[token]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert '<html lang="fr">' in html
    assert "Combien de minutes l’outil vous a-t-il fait gagner sur cette période ?" in html
    assert "Votre meilleure estimation ; 0 s’il ne vous a rien fait gagner." in html
    assert "En minutes, de 0 à 2400." in html
    assert "1 – Inutilisable" in html
    assert "5 – Excellente" in html
    assert "10 – Extrêmement probable" in html
    assert "Données confidentielles exposées" in html
    assert "Action fondée sur un résultat erroné" in html
    assert "Seulement si vous avez répondu « Oui » à « L’outil vous a-t-il posé problème" in html
    # Not a word of the English questionnaire is left, and nothing is marked as foreign.
    for english in ("How many minutes", "Unusable", "Excellent<", "Wrong output", "What happened"):
        assert english not in html
    assert 'lang="en"' not in html[html.index('<div class="question') :]


def test_an_english_participant_still_reads_the_questionnaire_in_english(client, participant):
    _prompt, token = prompt_with_token(pulse_round(), participant)

    html = client.get(
        reverse("feedback_answer", args=[token]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "How many minutes did the tool save you this period?" in html
    assert "1 – Unusable" in html
    assert "Confidential data exposed" in html
    assert "Inutilisable" not in html


def test_an_answer_in_french_stores_the_same_values_as_in_english(client, participant):
    for language in ("en", "fr"):
        _prompt, token = prompt_with_token(pulse_round(), participant)
        response = client.post(
            reverse("feedback_answer", args=[token]), ANSWERS, HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 302, language
        stored = stored_answers()
        Answer.objects.all().delete()
        if language == "en":
            english = stored

    assert stored == english
    assert ("incident_kind", None, None, "wrong_output_acted_on") in stored
    assert ("quality", Decimal("4.00"), None, "") in stored


def test_the_inbox_answer_page_is_in_french_for_a_french_participant(client, participant):
    prompt, _token = prompt_with_token(pulse_round(), participant)
    client.force_login(participant)

    html = client.get(
        reverse("feedback_prompt", args=[prompt.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert "Quelle était la qualité de ce que l’outil a produit ?" in html
    assert "0 – Pas du tout probable" in html


def test_a_french_error_page_keeps_the_questions_in_french(client, participant):
    _prompt, token = prompt_with_token(pulse_round(), participant)

    html = client.post(
        reverse("feedback_answer", args=[token]),
        {**ANSWERS, "quality": "9"},
        HTTP_ACCEPT_LANGUAGE="fr",
    ).content.decode()

    assert 'id="quality-errors"' in html
    assert "Quelle était la qualité de ce que l’outil a produit ? — " in html


def test_a_lead_s_english_only_question_shows_in_english_marked_as_english_on_a_french_page(
    client, participant, lead, team
):
    feedback_round = pulse_round(team=team, lead=lead)
    pilot_questions.add_question(
        feedback_round.pilot_id,
        user=lead,
        key="tickets",
        text="How many tickets did you close?",
        help_text="Count the closed ones only.",
        kind="number",
        min_value=Decimal("0"),
        max_value=Decimal("200"),
        language="en",
    )
    pilot_questions.add_question(
        feedback_round.pilot_id,
        user=lead,
        key="ease",
        text="How easy was it?",
        kind="scale",
        min_value=Decimal("1"),
        max_value=Decimal("3"),
        min_label="Hard",
        max_label="Easy",
        language="en",
    )
    _prompt, token = prompt_with_token(feedback_round, participant)

    html = client.get(
        reverse("feedback_answer", args=[token]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert re.search(r'<label for="id_tickets" lang="en">How many tickets did you close\?', html)
    assert re.search(r'<p class="help" id="tickets-help" lang="en">Count the closed ones', html)
    assert '<legend><span lang="en">How easy was it?</span>' in html
    assert '1 – <span lang="en">Hard</span>' in html
    assert '3 – <span lang="en">Easy</span>' in html
    # The questionnaire around it is in French.
    assert "Combien de minutes l’outil" in html


def test_a_lead_s_question_given_in_both_languages_reads_in_each(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    question = pilot_questions.add_question(
        pilot.pk,
        user=lead,
        key="channel_used",
        text="Quel canal avez-vous utilisé ?",
        kind="text",
        language="fr",
        translations={"en": {"text": "  Which channel did you use? ", "help_text": ""}},
    )

    assert (question.language, question.translations) == (
        "fr",
        {"en": {"text": "Which channel did you use?"}},
    )
    assert question.localized("en").text == "Which channel did you use?"
    assert question.localized("fr").text == "Quel canal avez-vous utilisé ?"


def test_a_lead_s_question_is_written_in_the_active_language_unless_told(lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    with translation.override("fr"):
        question = pilot_questions.add_question(
            pilot.pk, user=lead, key="channel_used", text="Quel canal ?", kind="text"
        )

    assert question.language == "fr"


@pytest.mark.parametrize(
    ("language", "translations"),
    [
        ("de", {}),
        ("en", {"en": {"text": "Same language"}}),
        ("en", {"de": {"text": "Welcher Kanal?"}}),
        ("en", {"fr": {"min_label": "Jamais"}}),
        ("en", {"fr": {"text": "x" * 301}}),
    ],
)
def test_a_lead_s_question_with_a_bad_language_or_translation_is_refused(
    lead, team, language, translations
):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")

    with pytest.raises(ValidationFailed) as e:
        pilot_questions.add_question(
            pilot.pk,
            user=lead,
            key="channel_used",
            text="Which channel?",
            kind="text",
            language=language,
            translations=translations,
        )

    assert e.value.field in ("language", "translations")
    assert not Question.objects.filter(pilot=pilot).exists()


def test_the_questions_page_offers_the_page_s_language_and_saves_the_other_one(client, lead, team):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(lead)
    url = reverse("feedback_pilot_questions", args=[pilot.pk])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert re.search(r'<option value="fr" selected>', page)
    response = client.post(
        url,
        {
            "text": "Combien de tickets avez-vous clos ?",
            "language": "fr",
            "translated_text": "How many tickets did you close?",
            "key": "tickets",
            "kind": "number",
            "min_value": "0",
            "max_value": "200",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert response.status_code == 302
    question = Question.objects.get(pilot=pilot)
    assert (question.language, question.translations) == (
        "fr",
        {"en": {"text": "How many tickets did you close?"}},
    )
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How many tickets did you close?" in english
    assert "also in English" in english


def test_the_questions_page_shows_an_english_only_question_as_written_to_a_french_lead(
    client, lead, team
):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot")
    client.force_login(lead)
    url = reverse("feedback_pilot_questions", args=[pilot.pk])
    client.post(
        url,
        {"text": "Which channel?", "language": "en", "key": "channel_used", "kind": "text"},
    )

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<td lang="en">Which channel?</td>' in page
