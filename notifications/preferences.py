"""Each person's language and how they want to hear about each topic.

The language is the one every email to them is written in, and the one their pages use once
they sign in. It starts empty and the first sign-in fills it with the browser's language; the
profile page (and the header's language switch) change it. It is kept in the session too, so
that activating it costs a page no query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation

from core.exceptions import PermissionRefused, ValidationFailed

from .models import Channel, Preference, Profile, Topic

SESSION_KEY = "notifications_language"


def supported(language: str | None) -> str:
    """The site language `language` stands for ('fr-ca' → 'fr'), or '' if none."""
    if not language:
        return ""
    code = language.lower().split("-")[0]
    return code if code in dict(settings.LANGUAGES) else ""


def chosen_language(user) -> str:
    """The language a person chose ('' if none yet): core.languages asks it of this module."""
    return Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""


def chosen_languages(user_ids: set[int]) -> dict[int, str]:
    """The languages these people chose (user id → language), in one query; none: left out."""
    return dict(
        Profile.objects.filter(user_id__in=user_ids)
        .exclude(language="")
        .values_list("user_id", "language")
    )


def language_of(user) -> str:
    """The language to write to a person in: their preference, else the site's default."""
    return chosen_language(user) or settings.LANGUAGE_CODE


def wants(user, topic: str) -> bool:
    """Tell whether a person wants emails about a topic (the default: yes)."""
    return not Preference.objects.filter(user=user, topic=topic, channel=Channel.NONE).exists()


def channels_of(user) -> dict[str, str]:
    """Every topic with the channel this person chose for it."""
    chosen = dict(Preference.objects.filter(user=user).values_list("topic", "channel"))
    return {topic: chosen.get(topic, Channel.EMAIL) for topic in Topic.values}


def save(user, *, actor, language: str, channels: dict[str, str]) -> Profile:
    """Record a person's language and channel per topic; only they may change them."""
    if actor is None or actor.pk != user.pk:
        raise PermissionRefused(
            translation.gettext("Only you can change your preferences."), code="not_yours"
        )
    if language and not supported(language) == language:
        raise ValidationFailed(
            translation.gettext("Choose one of the site's languages."),
            code="unknown_language",
            field="language",
        )
    unknown = sorted(set(channels) - set(Topic.values)) or sorted(
        t for t, c in channels.items() if c not in Channel.values
    )
    if unknown:
        raise ValidationFailed(
            translation.gettext("Unknown notification topic or channel: %(what)s.")
            % {"what": ", ".join(unknown)},
            code="unknown_topic",
            field="channels",
        )
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
        if profile.language != language:
            profile.language = language
            profile.save(update_fields=["language"])
        for topic, channel in channels.items():
            Preference.objects.update_or_create(
                user=user, topic=topic, defaults={"channel": channel}
            )
    return profile


def set_language(user, language: str) -> None:
    """Record a person's language (the header's switch); an unknown one is ignored."""
    language = supported(language)
    if language:
        Profile.objects.update_or_create(user=user, defaults={"language": language})


def remember_browser_language(sender, request, user, **kwargs) -> None:
    """At sign-in: fill an empty language from the browser's, and keep it in the session.

    A user_logged_in receiver: the browser's language is what LocaleMiddleware found
    (the language cookie, else Accept-Language).
    """
    browser = supported(getattr(request, "LANGUAGE_CODE", ""))
    if not browser:
        # Not a browser's request (a script, the test client's force_login): nothing learnt,
        # and the pages keep following the browser until the person says otherwise.
        return
    profile, _created = Profile.objects.get_or_create(user=user, defaults={"language": browser})
    if not profile.language:
        # Only an empty one: a concurrent sign-in that filled it first wins.
        Profile.objects.filter(pk=profile.pk, language="").update(language=browser)
        profile.refresh_from_db(fields=["language"])
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = profile.language
