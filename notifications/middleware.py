"""Pages in the signed-in person's language; the header's switch changes that language."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from . import preferences


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: activate the signed-in person's language.

    It comes from the session (written at sign-in and when the person changes it), so a page
    pays no query for it. A POST to Django's set_language by a signed-in person also records
    the chosen language as theirs, or the header's switch would seem to do nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        language = request.session.get(preferences.SESSION_KEY) if signed_in else None
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            signed_in
            and request.method == "POST"
            and match is not None
            and match.url_name == "set_language"
            and response.status_code in (200, 302)
        ):
            chosen = preferences.supported(request.POST.get("language"))
            if chosen:
                preferences.set_language(user, chosen)
                request.session[preferences.SESSION_KEY] = chosen
        return response
