"""The language to write to a person in: asked here, answered by the layer that stores it.

Every email is written in its recipient's language. Who stores that choice (notifications'
profiles) sits above the layers that send emails (feedback's invitations, pilots' alerts), so
they ask this module, and the layer that stores it registers the answer in its AppConfig.ready.
With nothing registered, or for someone who chose nothing, it is the site's language.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

_provider: list[Callable[[object], str]] = []


def register(provider: Callable[[object], str]) -> None:
    """Say which function tells a user's language ('' when they chose none)."""
    _provider[:] = [provider]


def language_of(user) -> str:
    """The language to write to `user` in (None: someone outside the site, an address)."""
    if user is None or not _provider:
        return settings.LANGUAGE_CODE
    return _provider[0](user) or settings.LANGUAGE_CODE
