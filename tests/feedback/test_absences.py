"""A participant marks themselves away: validation, merging, the away page."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.exceptions import PermissionRefused, ValidationFailed
from feedback import absences
from feedback.models import Absence

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_a_participant_marks_themselves_away(participant):
    today = timezone.localdate()

    absence = absences.mark_away(participant, starts_on=today, ends_on=today + 7 * DAY)

    assert (absence.user, absence.starts_on, absence.ends_on) == (
        participant,
        today,
        today + 7 * DAY,
    )
    assert absences.is_away(participant.pk, today + 3 * DAY)
    assert not absences.is_away(participant.pk, today + 8 * DAY)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (5, 2, "dates_out_of_order"),
        (-10, -2, "in_the_past"),
        (0, 400, "too_long"),
    ],
)
def test_an_impossible_absence_is_refused_naming_the_field(participant, start, end, code):
    today = timezone.localdate()

    with pytest.raises(ValidationFailed) as e:
        absences.mark_away(participant, starts_on=today + start * DAY, ends_on=today + end * DAY)

    assert (e.value.code, e.value.field) == (code, "ends_on")
    assert not Absence.objects.exists()


def test_overlapping_or_touching_absences_merge_into_one(participant):
    today = timezone.localdate()
    absences.mark_away(participant, starts_on=today, ends_on=today + 3 * DAY)
    absences.mark_away(participant, starts_on=today + 10 * DAY, ends_on=today + 12 * DAY)

    merged = absences.mark_away(participant, starts_on=today + 2 * DAY, ends_on=today + 9 * DAY)

    assert list(Absence.objects.values_list("starts_on", "ends_on")) == [(today, today + 12 * DAY)]
    assert merged.starts_on == today


def test_one_participant_s_absences_do_not_touch_another_s(participant, outsider):
    today = timezone.localdate()
    absences.mark_away(outsider, starts_on=today, ends_on=today + 3 * DAY)

    absences.mark_away(participant, starts_on=today, ends_on=today + 3 * DAY)

    assert Absence.objects.count() == 2


def test_only_the_participant_cancels_their_absence(participant, outsider):
    today = timezone.localdate()
    absence = absences.mark_away(participant, starts_on=today, ends_on=today + DAY)

    with pytest.raises(PermissionRefused):
        absences.cancel_absence(absence.pk, user=outsider)
    absences.cancel_absence(absence.pk, user=participant)

    assert not Absence.objects.exists()


def test_the_database_refuses_an_absence_ending_before_it_starts(participant):
    today = timezone.localdate()

    with pytest.raises(IntegrityError), transaction.atomic():
        Absence.objects.create(user=participant, starts_on=today, ends_on=today - DAY)


def test_the_away_page_records_an_absence(client, participant):
    client.force_login(participant)
    today = timezone.localdate()

    response = client.post(
        reverse("feedback_away"),
        {"starts_on": today.isoformat(), "ends_on": (today + 4 * DAY).isoformat()},
    )

    assert response.status_code == 302
    page = client.get(reverse("feedback_away")).content.decode()
    assert "no prompts or reminders" in page
    assert Absence.objects.get().ends_on == today + 4 * DAY


def test_the_away_page_shows_the_error_next_to_the_field(client, participant):
    client.force_login(participant)
    today = timezone.localdate()

    response = client.post(
        reverse("feedback_away"),
        {"starts_on": today.isoformat(), "ends_on": (today - 4 * DAY).isoformat()},
    )

    assert response.status_code == 200
    assert 'id="ends_on-errors"' in response.content.decode()
    assert "on or after the first day" in response.content.decode()
    assert not Absence.objects.exists()


def test_the_away_page_cancels_an_absence(client, participant):
    client.force_login(participant)
    today = timezone.localdate()
    absence = absences.mark_away(participant, starts_on=today, ends_on=today + DAY)

    client.post(reverse("feedback_away_cancel", args=[absence.pk]))

    assert not Absence.objects.exists()
