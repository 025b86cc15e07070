"""The language to write to a person in: asked here, answered by the layer that stores it.

Every email is written in its recipient's language. Who stores that choice (notifications'
profiles) sits above the layers that send emails (feedback's invitations, pilots' alerts), so
they ask this module, and the layer that stores it registers the answer in its AppConfig.ready.
With nothing registered, or for someone who chose nothing, it is the site's language.

A sender of many emails reads its recipients' choices at once (`remember`: one query for a
chunk of invitations instead of one per email); the choice is kept on each user object it
read, for the emails built from those objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings

_provider: list[Callable[[object], str]] = []
_many: list[Callable[[set[int]], dict[int, str]]] = []
# Where `remember` keeps a user's chosen language ('' for none) on the user object.
_REMEMBERED = "_chosen_language"


def register(
    provider: Callable[[object], str], *, many: Callable[[set[int]], dict[int, str]] | None = None
) -> None:
    """Say which function tells a user's language ('' when they chose none), and which tells
    many users' at once (user id → language, the users who chose none left out)."""
    _provider[:] = [provider]
    _many[:] = [many] if many is not None else []


def remember(users: Iterable) -> None:
    """Read the chosen languages of these users at once, for `language_of` to ask no more."""
    users = [u for u in users if u is not None and u.pk is not None]
    if not users or not _many:
        return
    chosen = _many[0]({u.pk for u in users})
    for user in users:
        setattr(user, _REMEMBERED, chosen.get(user.pk, ""))


def language_of(user) -> str:
    """The language to write to `user` in (None: someone outside the site, an address)."""
    if user is None or not _provider:
        return settings.LANGUAGE_CODE
    remembered = getattr(user, _REMEMBERED, None)
    if remembered is not None:
        return remembered or settings.LANGUAGE_CODE
    return _provider[0](user) or settings.LANGUAGE_CODE
