"""Who may do what with prompts, answers, rounds and absences: the one home of those rules.

Rules about pilots are asked of `pilots.access` (a round is seen by whoever may see its pilot);
"is Ops" of `core.ops`; "still owes the pilot's usage charter" of `governance.charter`. Domain
writes (scheduling, invitations, absences, questionnaires, answering) check their actor here;
the views, admin and API ask the same functions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from core.ops import is_ops
from governance import charter
from pilots import access as pilot_access
from pilots.models import Pilot

from .models import FeedbackRound, Prompt


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def may_answer(user, prompt: Prompt) -> bool:
    """Tell whether a signed-in user may answer a prompt: it is theirs."""
    return _signed_in(user) and prompt.participant_id == user.pk


def charter_owed(prompts: QuerySet[Prompt], user) -> QuerySet[Prompt]:
    """Annotate `charter_owed` on a user's prompts: True while the pilot's usage charter must
    be acknowledged before answering (governance.charter decides which version; no extra
    query: subqueries of the prompts' own query).
    """
    if not _signed_in(user):
        return prompts
    owed = charter.owes(user.pk, pilot_field="round__pilot_id", opened_field="round__opens_at")
    return prompts.annotate(
        charter_owed=models.ExpressionWrapper(owed, output_field=models.BooleanField())
    )


def owes_charter(user, prompt: Prompt) -> bool:
    """Tell whether a user must acknowledge the usage charter before answering a prompt.

    Answering from the inbox (web or API) is refused until they do; nothing is said about
    anyone else. One query.
    """
    return (
        charter_owed(Prompt.objects.filter(pk=prompt.pk), user)
        .values_list("charter_owed", flat=True)
        .first()
        is True
    )


def own_prompts(prompts: QuerySet[Prompt], user) -> QuerySet[Prompt]:
    """Filter the prompts a signed-in user may answer (the QuerySet form of `may_answer`)."""
    if not _signed_in(user):
        return prompts.none()
    return prompts.filter(participant_id=user.pk)


def visible_rounds(rounds: QuerySet[FeedbackRound], user) -> QuerySet[FeedbackRound]:
    """Filter the rounds whose aggregated results a user may see: those of pilots they see.

    A subquery rather than a join: the pilot rule may add DISTINCT.
    """
    return rounds.filter(pilot__in=visible_pilots(user).values("pk"))


def visible_pilots(user) -> QuerySet[Pilot]:
    """The pilots whose rounds a user may see (pilots.access decides)."""
    return pilot_access.visible(Pilot.objects.all(), user)


def may_see_results(user, feedback_round: FeedbackRound) -> bool:
    """Tell whether a user may see a round's aggregated results."""
    return pilot_access.may_see(user, feedback_round.pilot)


def may_run_rounds(user) -> bool:
    """Tell whether a user may open, remind or close rounds by hand: Ops."""
    return _signed_in(user) and is_ops(user)


def may_resend_invitation(user) -> bool:
    """Tell whether a user may re-send a failed invitation: Ops."""
    return _signed_in(user) and is_ops(user)


def may_edit_questionnaires(user) -> bool:
    """Tell whether a user may edit questionnaires and make new versions: Ops."""
    return _signed_in(user) and is_ops(user)


def may_mark_away(actor, user) -> bool:
    """Tell whether `actor` may record an absence for `user`: themselves, or Ops."""
    if not _signed_in(actor):
        return False
    return actor.pk == user.pk or is_ops(actor)
