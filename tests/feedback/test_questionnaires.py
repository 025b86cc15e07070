"""The default questionnaire, versions and the freeze rule, and the feedback admin screens."""

from __future__ import annotations

import importlib
import json
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from core.exceptions import PermissionRefused, ValidationFailed
from feedback import questionnaires
from feedback.models import Question, Questionnaire
from tests.factories import (
    FeedbackRoundFactory,
    MetricGuardrailFactory,
    PilotFactory,
    PromptFactory,
    QuestionFactory,
    QuestionnaireFactory,
    ResponseFactory,
    SuccessMetricFactory,
    migrated_pulse,
)

pytestmark = pytest.mark.django_db

PULSE_KEYS = [
    "minutes_saved",
    "quality",
    "trust",
    "recommend",
    "incident",
    "incident_kind",
    "incident_description",
    "comment",
]


FRENCH = importlib.import_module("feedback.migrations.0006_ai_pilot_pulse_in_french")


@pytest.fixture
def pulse() -> Questionnaire:
    """The migrated questionnaire (re-created if a transactional test flushed it)."""
    if not Questionnaire.objects.filter(slug="ai-pilot-pulse").exists():
        Questionnaire.objects.filter(is_default=True).update(is_default=False)
    return migrated_pulse()


def test_the_default_questionnaire_is_the_ai_pilot_pulse_with_its_stable_keys(pulse):
    assert (pulse.name, pulse.version, pulse.is_current, pulse.is_default) == (
        "AI pilot pulse",
        1,
        True,
        True,
    )
    questions = {q.key: q for q in pulse.questions.all()}
    assert list(pulse.questions.values_list("key", flat=True)) == PULSE_KEYS
    minutes = questions["minutes_saved"]
    assert (minutes.kind, minutes.unit, minutes.min_value, minutes.max_value) == (
        "number",
        "minutes",
        Decimal("0"),
        Decimal("2400"),
    )
    for key in ("quality", "trust"):
        assert (questions[key].kind, questions[key].min_value, questions[key].max_value) == (
            "scale",
            1,
            5,
        )
    assert questions["quality"].min_label and questions["quality"].max_label
    assert (questions["recommend"].min_value, questions["recommend"].max_value) == (0, 10)
    assert "recommend this tool to a colleague" in questions["recommend"].text
    assert questions["incident"].kind == "yes_no"
    kind = questions["incident_kind"]
    assert [c[0] for c in kind.choices] == [
        "confidential_data_exposed",
        "wrong_output_acted_on",
        "other",
    ]
    for key in ("incident_kind", "incident_description"):
        assert (questions[key].shown_if_key, questions[key].shown_if_value) == ("incident", "yes")
        assert questions[key].required is False
    assert questions["comment"].required is False


def test_a_new_version_copies_the_questions_and_becomes_current_and_default(pulse, ops):
    FeedbackRoundFactory(questionnaire=pulse)
    copy = questionnaires.new_version(pulse.pk, actor=ops)
    pulse.refresh_from_db()
    assert (copy.slug, copy.version, copy.is_current, copy.is_default) == (
        "ai-pilot-pulse",
        2,
        True,
        True,
    )
    assert (pulse.is_current, pulse.is_default) == (False, False)
    assert list(copy.questions.values_list("key", flat=True)) == PULSE_KEYS
    assert pulse.questions.count() == len(PULSE_KEYS)
    assert pulse.rounds.count() == 1
    third = questionnaires.new_version(pulse.pk, actor=ops)
    assert third.version == 3


def test_only_ops_create_versions(pulse, lead):
    with pytest.raises(PermissionRefused):
        questionnaires.new_version(pulse.pk, actor=lead)
    assert Questionnaire.objects.filter(slug=pulse.slug).count() == 1


def test_a_question_of_a_version_used_by_a_round_cannot_be_edited(ops):
    questionnaire = QuestionnaireFactory()
    question = QuestionFactory(questionnaire=questionnaire, text="Before?")
    FeedbackRoundFactory(questionnaire=questionnaire)
    with pytest.raises(ValidationFailed) as refused:
        questionnaires.update_question(question.pk, actor=ops, text="After?")
    assert refused.value.code == "questionnaire_frozen"
    assert refused.value.field == "questions"
    assert "Create a new version" in refused.value.message
    question.refresh_from_db()
    assert question.text == "Before?"


def test_a_question_of_an_unused_version_can_be_edited(ops):
    question = QuestionFactory(text="Before?")
    questionnaires.update_question(question.pk, actor=ops, text="After?")
    question.refresh_from_db()
    assert question.text == "After?"


# ---------------------------------------------------------------------------------------------
# Admin


def inline_post_data(questionnaire: Questionnaire, **changes) -> dict:
    """The admin change form's POST data for a questionnaire and its questions."""
    data = {
        "name": questionnaire.name,
        "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0,
        "questions-MIN_NUM_FORMS": 0,
        "questions-MAX_NUM_FORMS": 1000,
    }
    fields = [
        "position",
        "key",
        "kind",
        "text",
        "help_text",
        "min_value",
        "max_value",
        "step",
        "unit",
        "min_label",
        "max_label",
        "shown_if_key",
        "shown_if_value",
        "language",
    ]
    questions = list(questionnaire.questions.all())
    for i, q in enumerate(questions):
        prefix = f"questions-{i}-"
        data[prefix + "id"] = q.pk
        data[prefix + "questionnaire"] = questionnaire.pk
        for name in fields:
            value = getattr(q, name)
            data[prefix + name] = "" if value is None else value
        data[prefix + "choices"] = "[]" if not q.choices else str(q.choices).replace("'", '"')
        data[prefix + "translations"] = json.dumps(q.translations)
        if q.required:
            data[prefix + "required"] = "on"
    data["questions-TOTAL_FORMS"] = data["questions-INITIAL_FORMS"] = len(questions)
    data.update(changes)
    return data


def test_the_admin_refuses_editing_a_frozen_questionnaire_with_the_reason(client, ops):
    questionnaire = QuestionnaireFactory(name="Pulse")
    question = QuestionFactory(questionnaire=questionnaire, text="Before?")
    FeedbackRoundFactory(questionnaire=questionnaire)
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[questionnaire.pk])
    response = client.post(url, inline_post_data(questionnaire, **{"questions-0-text": "After?"}))
    assert response.status_code == 200
    assert "its questions are frozen" in response.content.decode()
    question.refresh_from_db()
    assert question.text == "Before?"


def test_the_admin_saves_edits_of_an_unused_questionnaire(client, ops):
    questionnaire = QuestionnaireFactory(name="Pulse")
    question = QuestionFactory(questionnaire=questionnaire, text="Before?")
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[questionnaire.pk])
    response = client.post(url, inline_post_data(questionnaire, **{"questions-0-text": "After?"}))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == "After?"


def test_the_admin_action_creates_a_new_version(client, ops):
    questionnaire = QuestionnaireFactory(name="Pulse")
    QuestionFactory(questionnaire=questionnaire)
    client.force_login(ops)
    response = client.post(
        reverse("admin:feedback_questionnaire_changelist"),
        {"action": "create_new_version", "_selected_action": [questionnaire.pk]},
        follow=True,
    )
    assert "Created version 2" in response.content.decode()
    copy = Questionnaire.objects.get(slug=questionnaire.slug, version=2)
    assert copy.is_current
    assert copy.questions.count() == 1


def test_the_round_admin_shows_the_response_rate_and_no_responses(client, ops):
    round_ = FeedbackRoundFactory(
        status="closed",
        closed_at=FeedbackRoundFactory().opens_at,
        invited_count=4,
        response_count=3,
    )
    ResponseFactory(round=round_, respondent=None)
    prompt = PromptFactory(round=round_, answered=True)
    client.force_login(ops)
    listing = client.get(reverse("admin:feedback_feedbackround_changelist")).content.decode()
    assert "75%" in listing
    detail = client.get(reverse("admin:feedback_feedbackround_change", args=[round_.pk]))
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "75%" in page
    assert "/admin/feedback/response/" not in page
    assert reverse("admin:feedback_prompt_change", args=[prompt.pk]) not in page
    assert prompt.participant.username not in page


def test_no_admin_screen_lists_responses_or_answers(client, ops):
    client.force_login(ops)
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/feedback/response/" not in index
    assert "/admin/feedback/answer/" not in index
    assert client.get("/admin/feedback/response/").status_code == 404
    assert client.get("/admin/feedback/answer/").status_code == 404


def test_the_prompt_admin_never_shows_the_token_hash(client, ops):
    prompt = PromptFactory(answered=True)
    client.force_login(ops)
    listing = client.get(reverse("admin:feedback_prompt_changelist")).content.decode()
    detail = client.get(reverse("admin:feedback_prompt_change", args=[prompt.pk])).content.decode()
    for page in (listing, detail):
        assert prompt.token_hash not in page
        assert "/admin/feedback/response/" not in page
    assert prompt.participant.username in listing


def test_rounds_and_prompts_cannot_be_changed_in_the_admin(client, ops):
    prompt = PromptFactory()
    client.force_login(ops)
    assert client.get(reverse("admin:feedback_feedbackround_add")).status_code == 403
    assert client.get(reverse("admin:feedback_prompt_add")).status_code == 403
    response = client.post(
        reverse("admin:feedback_prompt_change", args=[prompt.pk]), {"answered": "on"}
    )
    assert response.status_code == 403


def test_an_absence_is_listed_in_the_admin(client, ops, participant):
    participant.absences.create(starts_on="2026-12-01", ends_on="2026-12-05")
    client.force_login(ops)
    page = client.get(reverse("admin:feedback_absence_changelist")).content.decode()
    assert "participant" in page


def test_questions_keep_their_order_in_a_new_version(ops):
    questionnaire = QuestionnaireFactory()
    for position, key in enumerate(["b", "a", "c"]):
        QuestionFactory(questionnaire=questionnaire, key=f"k_{key}", position=position)
    copy = questionnaires.new_version(questionnaire.pk, actor=ops)
    assert list(Question.objects.filter(questionnaire=copy).values_list("key", flat=True)) == [
        "k_b",
        "k_a",
        "k_c",
    ]


# ---------------------------------------------------------------------------------------------
# The pulse in French


def test_the_migration_gives_every_question_of_the_pulse_french_words(pulse):
    questions = {q.key: q for q in pulse.questions.all()}
    assert sorted(questions) == sorted(PULSE_KEYS)
    for question in questions.values():
        french = question.localized("fr")
        assert french.language == "fr", question.key
        assert french.text != question.text, question.key
        assert french.text.endswith(" ?"), question.key
    minutes = questions["minutes_saved"].localized("fr")
    assert (minutes.unit, minutes.help_text) == (
        "minutes",
        "Votre meilleure estimation ; 0 s’il ne vous a rien fait gagner.",
    )
    quality = questions["quality"].localized("fr")
    assert (quality.min_label, quality.max_label) == ("Inutilisable", "Excellente")
    recommend = questions["recommend"].localized("fr")
    assert (recommend.min_label, recommend.max_label) == (
        "Pas du tout probable",
        "Extrêmement probable",
    )
    assert questions["incident_kind"].localized("fr").choices == [
        ["confidential_data_exposed", "Données confidentielles exposées"],
        ["wrong_output_acted_on", "Action fondée sur un résultat erroné"],
        ["other", "Autre"],
    ]
    description = questions["incident_description"].localized("fr")
    assert "sans données personnelles" in description.help_text
    # English readers still read the questions as written.
    assert questions["quality"].localized("en").text == "How good was the tool's output?"


def test_the_french_migration_reaches_every_version_and_reverses(pulse, ops):
    FeedbackRoundFactory(questionnaire=pulse)
    copy = questionnaires.new_version(pulse.pk, actor=ops)
    Question.objects.filter(questionnaire=copy).update(translations={})
    FRENCH.add_french(django_apps, None)
    for question in Question.objects.filter(questionnaire__slug="ai-pilot-pulse"):
        assert question.translations["fr"]["text"], (question.questionnaire_id, question.key)

    FRENCH.remove_french(django_apps, None)

    for question in Question.objects.filter(questionnaire__slug="ai-pilot-pulse"):
        assert "fr" not in question.translations
        assert question.localized("fr").text == question.text
    FRENCH.add_french(django_apps, None)
    assert Question.objects.get(questionnaire=pulse, key="trust").localized("fr").max_label == (
        "Totalement"
    )


def test_the_french_migration_leaves_a_reworded_text_and_given_french_alone(ops):
    questionnaire = QuestionnaireFactory(slug="ai-pilot-pulse", version=9, is_current=False)
    reworded = QuestionFactory(
        questionnaire=questionnaire,
        key="quality",
        text="How useful were the drafts?",
        min_value=1,
        max_value=5,
        min_label="Unusable",
        max_label="Excellent",
    )
    given = QuestionFactory(
        questionnaire=questionnaire,
        key="trust",
        text="How much do you trust the tool's output?",
        min_value=1,
        max_value=5,
        translations={"fr": {"text": "Confiance ?"}},
    )

    FRENCH.add_french(django_apps, None)
    FRENCH.remove_french(django_apps, None)
    FRENCH.add_french(django_apps, None)

    reworded.refresh_from_db()
    given.refresh_from_db()
    # The reworded question keeps its own text; its unchanged scale ends are translated.
    assert reworded.translations == {"fr": {"min_label": "Inutilisable", "max_label": "Excellente"}}
    assert reworded.localized("fr").text == "How useful were the drafts?"
    assert given.translations == {"fr": {"text": "Confiance ?"}}


def test_a_new_version_keeps_the_languages_and_translations_of_its_questions(pulse, ops):
    lead_written = QuestionFactory(
        questionnaire=QuestionnaireFactory(),
        key="in_french",
        language="fr",
        text="Question écrite en français ?",
        translations={"en": {"text": "Written in French?"}},
    )

    copy = questionnaires.new_version(pulse.pk, actor=ops)
    other = questionnaires.new_version(lead_written.questionnaire_id, actor=ops)

    for old, new in zip(pulse.questions.all(), copy.questions.all(), strict=True):
        assert (new.key, new.language, new.translations) == (
            old.key,
            old.language,
            old.translations,
        )
        assert new.translations["fr"]["text"]
    [copied] = other.questions.all()
    assert (copied.language, copied.localized("en").text) == ("fr", "Written in French?")


# Keys that running pilots measure stay


@pytest.fixture
def current(pulse, ops) -> Questionnaire:
    """The current default version, not used by any round yet (so editable)."""
    FeedbackRoundFactory(questionnaire=pulse)
    return questionnaires.new_version(pulse.pk, actor=ops)


def test_the_admin_refuses_deleting_a_question_a_running_pilot_measures(client, ops, current):
    pilot = PilotFactory(title="Reply drafts", stage="pilot")
    MetricGuardrailFactory(pilot=pilot, description="Trust stays", question_key="trust")
    trust = current.questions.get(key="trust")
    index = list(current.questions.values_list("key", flat=True)).index("trust")
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[current.pk])

    response = client.post(url, inline_post_data(current, **{f"questions-{index}-DELETE": "on"}))

    assert response.status_code == 200
    assert "the guardrail “Trust stays” of “Reply drafts”" in response.content.decode()
    assert Question.objects.filter(pk=trust.pk).exists()
    pilot.stage = "stopped"
    pilot.save()
    response = client.post(url, inline_post_data(current, **{f"questions-{index}-DELETE": "on"}))
    assert response.status_code == 302
    assert not Question.objects.filter(pk=trust.pk).exists()


def test_the_admin_refuses_re_keying_a_measured_question_on_its_key(client, ops, current):
    SuccessMetricFactory(pilot=PilotFactory(stage="draft"), name="Quality", question_key="quality")
    index = list(current.questions.values_list("key", flat=True)).index("quality")
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[current.pk])

    response = client.post(url, inline_post_data(current, **{f"questions-{index}-key": "qual"}))

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "the success metric “Quality”" in formset.forms[index].errors["key"][0]
    assert current.questions.filter(key="quality").exists()


def test_a_question_nobody_measures_may_still_be_deleted_and_older_versions_are_not_guarded(
    client, ops, current, pulse
):
    SuccessMetricFactory(pilot=PilotFactory(stage="pilot"), question_key="quality")
    index = list(current.questions.values_list("key", flat=True)).index("recommend")
    client.force_login(ops)
    url = reverse("admin:feedback_questionnaire_change", args=[current.pk])

    response = client.post(url, inline_post_data(current, **{f"questions-{index}-DELETE": "on"}))

    assert response.status_code == 302
    assert not current.questions.filter(key="recommend").exists()
    pulse.refresh_from_db()
    questionnaires.check_keys_not_measured(pulse, ["quality"])  # not current: no new round


def test_update_question_refuses_re_keying_a_measured_question(ops, current):
    SuccessMetricFactory(pilot=PilotFactory(stage="pilot"), question_key="quality")
    question = current.questions.get(key="quality")

    with pytest.raises(ValidationFailed) as refused:
        questionnaires.update_question(question.pk, actor=ops, key="qual")

    assert (refused.value.code, refused.value.field) == ("question_in_use", "key")
    question.refresh_from_db()
    assert question.key == "quality"
    questionnaires.update_question(question.pk, actor=ops, text="How good was it?")
