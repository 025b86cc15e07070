"""The usage charter: publish a version, acknowledge it per pilot, gate the invitations.

* Ops publish versions (`publish`); a published version is never edited: a change is a new
  version, and a new version asks every participant again, pilot by pilot.
* Before their first invitation to a pilot, a participant acknowledges the current version and
  the pilot's policy guardrails on one page (`acknowledge`). While no version is published,
  nothing is asked.
* One rule (`owes`) for the emails and the inbox: asked by `feedback.invitations` when an
  invitation or reminder is built, and by the inbox and API (`feedback.access`). An email to
  someone who owes the charter waits in the outbox, and they get instead one message per
  pilot and version (`request_acknowledgement`, its outbox key) that tells them why and links
  to the page.
  Acknowledging runs what feedback registered (`register_after_acknowledge`): the invitations
  that waited go out at once if their round is still open. The prompt and its token are made
  exactly as for anyone else; only the moment the email goes out moves.
* An acknowledgement is a record (who, which version, which pilot, when), not a change of the
  pilot: it writes no change record of its own. Publishing writes one.
* A round asks for the version in force when it opened (the first version for a round opened
  before any), and an acknowledgement of that version or a later one for the pilot answers
  it. A new version therefore asks again for the rounds opened after it; the prompts of
  rounds already open stay answerable, and their invitations and reminders go out, alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core import changelog, languages, outbox
from core.exceptions import PermissionRefused, ValidationFailed
from pilots import access
from pilots.models import ACTIVE_STAGES, Guardrail, Participation, Pilot, Stage, Team

from .models import Acknowledgement, CharterVersion

CHARTER_REQUEST = "charter_request"

_after_acknowledge: list[Callable[[int, int], None]] = []


def register_after_acknowledge(callback: Callable[[int, int], None]) -> None:
    """Run `callback(user_id, pilot_id)` in the transaction of every new acknowledgement."""
    if callback not in _after_acknowledge:
        _after_acknowledge.append(callback)


def current_version() -> CharterVersion | None:
    return CharterVersion.objects.current()


def policy_guardrails(pilot: Pilot | int) -> list[str]:
    """The words of a pilot's enabled policy guardrails, in their order."""
    pilot_id = getattr(pilot, "pk", pilot)
    return list(
        Guardrail.objects.enabled()
        .filter(pilot_id=pilot_id, kind=Guardrail.Kind.POLICY)
        .order_by("pk")
        .values_list("description", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# Writes


def publish(*, actor, body_en: str, body_fr: str = "") -> CharterVersion:
    """Publish the next version of the charter, as Ops; every participant is asked again."""
    if not access.may_publish_charter(actor):
        raise PermissionRefused(_("Only Ops can publish the usage charter."))
    if not (body_en or "").strip():
        raise ValidationFailed(
            _("Write the charter in English (French is optional)."),
            code="charter_required",
            field="body_en",
        )
    try:
        with transaction.atomic():
            number = (CharterVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            version = CharterVersion.objects.create(
                number=number, body_en=body_en, body_fr=body_fr or "", published_by=actor
            )
            changelog.record(
                "charter.published",
                subject=version,
                actor=actor,
                changes={"number": [None, number]},
            )
    except IntegrityError:
        # Two Ops published at the same moment: the other one took this number.
        raise ValidationFailed(
            _("Another version was published meanwhile: read it, then publish again."),
            code="charter_changed",
            field="body_en",
        ) from None
    return version


def acknowledge(pilot: Pilot, *, user, version_id: int) -> Acknowledgement:
    """Record that `user` acknowledged charter `version_id` and the pilot's policy guardrails.

    Refused unless they take part in the pilot and the version is still the current one (a
    newer one must be read first). Acknowledging twice keeps the first record. The invitations
    that waited for it are released in the same transaction (feedback registered how).
    """
    if not access.may_acknowledge_charter(user, pilot):
        raise PermissionRefused(_("Only the pilot's participants acknowledge its charter."))
    with transaction.atomic():
        current = current_version()
        if current is None or current.pk != version_id:
            raise ValidationFailed(
                _("A newer version of the charter was published: please read it first."),
                code="charter_changed",
                field="version",
            )
        existing = Acknowledgement.objects.filter(user=user, version=current, pilot=pilot).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                ack = Acknowledgement.objects.create(
                    user=user, version=current, pilot=pilot, guardrails=policy_guardrails(pilot)
                )
        except IntegrityError:
            # The same person acknowledged twice at once (a double click): one record.
            return Acknowledgement.objects.get(user=user, version=current, pilot=pilot)
        for callback in _after_acknowledge:
            callback(user.pk, pilot.pk)
    return ack


# ---------------------------------------------------------------------------------------------
# The gate: one rule for the emails and the inbox


def owes(user: int | str, *, pilot_field: str, opened_field: str) -> Q:
    """A filter, on rows that hold a round's pilot and opening time, true while the person owes
    the charter for that round (the rows' own query: subqueries, no query of its own).

    The one charter rule, asked by the invitations and reminders (feedback.invitations) and by
    the inbox and the API (feedback.access), so an email never says "acknowledge first" while
    the inbox lets the person answer, nor the other way round. `user`: a user id, or the name
    of the rows' field holding the person's id (a prompt's "participant_id").

    The version owed is the one in force when the round opened, or the first one for a round
    opened before any. An acknowledgement for the pilot settles it when no version published
    by the opening is newer than the one acknowledged. No version published: nothing owed.
    So a version published mid-round asks nothing more for that round (its emails and its
    inbox prompts stay released alike); it asks again for the rounds opened after it.
    """
    person = OuterRef(user) if isinstance(user, str) else user
    newer_by_opening = CharterVersion.objects.filter(
        published_at__lte=OuterRef(OuterRef(opened_field)), number__gt=OuterRef("version__number")
    )
    settled = Acknowledgement.objects.filter(user_id=person, pilot_id=OuterRef(pilot_field)).filter(
        ~Exists(newer_by_opening)
    )
    return Q(Exists(CharterVersion.objects.all())) & ~Q(Exists(settled))


def request_acknowledgement(user_id: int, pilot_id: int) -> None:
    """Queue the message asking a participant to acknowledge (once per pilot and version).

    Asked by an email held by `owes`. The page acknowledges the current version (which settles
    any round whatever version it owes), so the message asks for that one.
    """
    version = current_version()
    if version is None:
        return
    user = get_user_model().objects.filter(pk=user_id).only("pk", "email").first()
    if user is None or not user.email:
        return
    outbox.enqueue(
        CHARTER_REQUEST,
        recipient=user.email,
        recipient_user=user,
        dedupe_key=f"{CHARTER_REQUEST}:{user_id}:{pilot_id}:{version.pk}",
        payload={"pilot_id": pilot_id, "version_id": version.pk},
    )


def charter_url(pilot_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("charter_acknowledge", args=[pilot_id])


def build_request(delivery) -> outbox.Email | None:
    """The message, or None if it is not needed any more (acknowledged, or a newer version)."""
    pilot_id = delivery.payload.get("pilot_id")
    version_id = delivery.payload.get("version_id")
    user = delivery.recipient_user
    version = current_version()
    pilot = Pilot.objects.filter(pk=pilot_id).first()
    if user is None or pilot is None or version is None or version.pk != version_id:
        return None
    if (
        pilot.stage not in (*ACTIVE_STAGES, Stage.PAUSED)
        or Acknowledgement.objects.filter(user=user, version=version, pilot=pilot).exists()
    ):
        return None
    context = {
        "participant": user,
        "pilot": pilot,
        "version": version,
        "link": charter_url(pilot.pk),
        "guardrails": policy_guardrails(pilot),
    }
    with translation.override(languages.language_of(user)):
        subject = render_to_string("governance/email/charter_request_subject.txt", context)
        body = render_to_string("governance/email/charter_request.txt", context)
    return outbox.Email(subject=subject, body=body)


CHARTER_REQUEST_KIND = outbox.Kind(CHARTER_REQUEST, outbox.AT_LEAST_ONCE, build_request)


# ---------------------------------------------------------------------------------------------
# Coverage


@dataclass
class PilotCoverage:
    pilot: Pilot
    participants: int
    acknowledged: int

    @property
    def missing(self) -> int:
        return self.participants - self.acknowledged


@dataclass
class TeamCoverage:
    team: Team
    pilots: list[PilotCoverage] = field(default_factory=list)

    @property
    def participants(self) -> int:
        return sum(p.participants for p in self.pilots)

    @property
    def acknowledged(self) -> int:
        return sum(p.acknowledged for p in self.pilots)


def coverage(*, actor) -> tuple[CharterVersion | None, list[TeamCoverage]]:
    """Acknowledgements of the current version per running or paused pilot, grouped by team.

    Three queries whatever the number of pilots: the version, the pilots with their number of
    participants, the acknowledgements by participants counted per pilot.
    """
    if not access.may_see_charter_coverage(actor):
        raise PermissionRefused(_("Only Ops see charter coverage."))
    return coverage_of(Pilot.objects.all())


def coverage_of(pilots) -> tuple[CharterVersion | None, list[TeamCoverage]]:
    """`coverage` over some pilots (a champion's teams'), without the permission check."""
    version = current_version()
    pilots = list(
        pilots.filter(stage__in=(*ACTIVE_STAGES, Stage.PAUSED))
        .select_related("team")
        .annotate(participant_count=Count("participations"))
        .order_by("team__name", "title", "pk")
    )
    acknowledged: dict[int, int] = {}
    if version is not None and pilots:
        # Only acknowledgements by people who still take part count.
        acknowledged = dict(
            Participation.objects.filter(
                pilot__in=[p.pk for p in pilots],
                user__charter_acknowledgements__version=version,
                user__charter_acknowledgements__pilot=F("pilot"),
            )
            .values("pilot")
            .annotate(n=Count("pk", distinct=True))
            .values_list("pilot", "n")
        )
    teams: dict[int, TeamCoverage] = {}
    for pilot in pilots:
        row = PilotCoverage(
            pilot=pilot,
            participants=pilot.participant_count,
            # No version: nothing is owed, everyone counts as covered.
            acknowledged=(
                acknowledged.get(pilot.pk, 0) if version is not None else pilot.participant_count
            ),
        )
        teams.setdefault(pilot.team_id, TeamCoverage(team=pilot.team)).pilots.append(row)
    return version, list(teams.values())


def acknowledged_now(user, pilot: Pilot) -> Acknowledgement | None:
    """The user's acknowledgement of the current version for a pilot, if any."""
    version = current_version()
    if version is None:
        return None
    return (
        Acknowledgement.objects.filter(user=user, version=version, pilot=pilot)
        .select_related("version")
        .first()
    )
