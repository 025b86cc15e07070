"""Who watches which pilot, and how each person wants to be told (language, topics)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    """What a notification is about; each person chooses email or nothing per topic."""

    STAGE = "stage", _("Stage decisions on pilots I lead or watch")
    REVIEW = "review", _("Security and legal reviews of pilots I lead or watch")
    SUBMITTED = "submitted", _("Pilots submitted for review (Ops)")
    ROUND_RESULTS = "round_results", _("Results of the feedback rounds I was invited to")
    DECISIONS = "decisions", _("Decisions on the pilots I give feedback on")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    NONE = "none", _("Nothing")


class Profile(models.Model):
    """A person's language; empty until their first sign-in fills it from the browser."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_profile",
    )
    language = models.CharField(_("language"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(language__in=["", "en", "fr"]),
                name="notifications_profile_language_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"


class Preference(models.Model):
    """How a person wants to hear about one topic. No row: by email."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    topic = models.CharField(_("topic"), max_length=16, choices=Topic)
    channel = models.CharField(_("by"), max_length=8, choices=Channel, default=Channel.EMAIL)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "topic"], name="notifications_preference_one_per_topic"
            ),
            models.CheckConstraint(
                condition=Q(topic__in=Topic.values), name="notifications_preference_topic_known"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values),
                name="notifications_preference_channel_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.topic} → {self.channel}"


class Watch(models.Model):
    """Someone who can see a pilot and asked to hear what happens to it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("watch")
        verbose_name_plural = _("watches")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "pilot"], name="notifications_watch_one_per_user_and_pilot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} watches {self.pilot}"
