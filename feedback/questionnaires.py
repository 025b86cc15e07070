"""Questionnaire versions: a version used by a round is frozen; changing it means a new version.

Results of past rounds stay comparable only if the questions they asked never change. So once
any round uses a questionnaire version, its questions can be neither edited, added nor
removed: `new_version` copies it to the next version, which becomes current (and the default,
if the copied version was) and is what new rounds use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from core import changelog
from core.exceptions import PermissionRefused, ValidationFailed
from pilots import measures

from . import access
from .models import Question, Questionnaire

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def is_frozen(questionnaire: Questionnaire) -> bool:
    """Tell whether a round used this questionnaire version (its questions are then frozen)."""
    return questionnaire.pk is not None and questionnaire.rounds.exists()


def frozen_message(questionnaire: Questionnaire) -> str:
    return _(
        "“%(name)s” version %(version)d has been used by %(count)d feedback round(s): its "
        "questions are frozen so that past results stay comparable. Create a new version to "
        "change them."
    ) % {
        "name": questionnaire.name,
        "version": questionnaire.version,
        "count": questionnaire.rounds.count(),
    }


def check_questions_editable(questionnaire: Questionnaire) -> None:
    """Raise ValidationFailed (code 'questionnaire_frozen') if a round used this version."""
    if is_frozen(questionnaire):
        raise ValidationFailed(
            frozen_message(questionnaire), code="questionnaire_frozen", field="questions"
        )


def check_keys_not_measured(questionnaire: Questionnaire, keys: Iterable[str]) -> None:
    """Refuse removing or re-keying questions that running pilots' rounds ask and measure.

    New rounds ask the current version of the default questionnaire: a key it stops asking
    leaves every success metric and enabled guardrail naming it unjudged. Raises
    ValidationFailed (code 'question_in_use', field 'key').
    """
    if not (questionnaire.is_default and questionnaire.is_current):
        return
    uses = measures.uses_of(keys)
    if uses:
        raise ValidationFailed(
            _(
                "Running pilots measure these questions, so their keys must stay: %(uses)s. "
                "Have their keys corrected or the guardrails disabled first."
            )
            % {"uses": ", ".join(uses)},
            code="question_in_use",
            field="key",
        )


def update_question(question_id: int, *, actor: AbstractBaseUser, **changes) -> Question:
    """Change fields of a questionnaire's question, unless its version is frozen."""
    if not access.may_edit_questionnaires(actor):
        raise PermissionRefused(_("Only Ops can edit questionnaires."))
    with transaction.atomic():
        question = (
            Question.objects.select_for_update()
            .select_related("questionnaire")
            .get(pk=question_id, questionnaire__isnull=False)
        )
        check_questions_editable(question.questionnaire)
        if changes.get("key", question.key) != question.key:
            check_keys_not_measured(question.questionnaire, [question.key])
        before = changelog.snapshot(question, changes)
        for name, value in changes.items():
            setattr(question, name, value)
        question.full_clean()
        question.save()
        changelog.record(
            "question.edited",
            subject=question,
            scope=question.questionnaire,
            actor=actor,
            changes=changelog.diff(before, changelog.snapshot(question, changes)),
        )
    return question


def new_version(questionnaire_id: int, *, actor: AbstractBaseUser) -> Questionnaire:
    """Copy a questionnaire with its questions to the next version and make the copy current.

    The copy also becomes the default questionnaire if the current version was. Rounds
    already opened keep the version they used.
    """
    if not access.may_edit_questionnaires(actor):
        raise PermissionRefused(_("Only Ops can create questionnaire versions."))
    with transaction.atomic():
        source = Questionnaire.objects.get(pk=questionnaire_id)
        # Lock every version of this questionnaire: two concurrent copies would otherwise
        # both compute the same next version number.
        versions = list(Questionnaire.objects.select_for_update().filter(slug=source.slug))
        current = next((q for q in versions if q.is_current), None)
        make_default = current is not None and current.is_default
        next_number = (
            Questionnaire.objects.filter(slug=source.slug).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        # The partial unique constraints allow one current version and one default: clear
        # the old flags first.
        Questionnaire.objects.filter(slug=source.slug).update(is_current=False, is_default=False)
        copy = Questionnaire.objects.create(
            slug=source.slug,
            version=next_number,
            name=source.name,
            is_current=True,
            is_default=make_default,
        )
        questions = list(source.questions.all())
        for question in questions:
            question.pk = None
            question.id = None
            question.questionnaire = copy
        Question.objects.bulk_create(questions)
        changelog.record(
            "questionnaire.versioned",
            subject=copy,
            scope=copy,
            actor=actor,
            changes={"version": [source.version, next_number]},
        )
    logger.info(
        "Questionnaire %s: version %d created by user %s from version %d.",
        source.slug,
        next_number,
        actor.pk,
        source.version,
    )
    return copy
