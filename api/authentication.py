"""DRF authentication by personal token: `Authorization: Bearer aipt_…`."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from . import tokens


class TokenAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by its bearer token; a revoked or expired one is a 401 at once.

    Placed first among the authentication classes so that a refused or missing token is
    answered with 401 and a `WWW-Authenticate: Bearer` challenge.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no token: the session (or, in DEBUG, Basic) may authenticate
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: give “Bearer” and the token."),
                code="invalid_token",
            )
        try:
            secret = header[1].decode()
        except UnicodeError as e:
            raise exceptions.AuthenticationFailed(_("Invalid token."), code="invalid_token") from e
        try:
            token = tokens.authenticate(secret)
        except tokens.TokenRefused as e:
            raise exceptions.AuthenticationFailed(e.message, code=e.code) from e
        return (token.user, token)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "aipt_…"}
