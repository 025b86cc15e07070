"""Personal API tokens: create (the secret is returned once), revoke, authenticate.

A token is `aipt_` followed by 43 random URL-safe characters; the database keeps its sha256
only, so a copy of the database gives no usable token. The prefix makes a leaked token easy to
recognise (secret scanners, logs).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, PermissionRefused, ValidationFailed

from .models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PREFIX = "aipt_"


class TokenRefused(DomainError):
    """A token that does not authenticate: unknown, revoked or expired (401)."""

    code = "invalid_token"
    status = 401


@dataclass
class NewToken:
    token: ApiToken
    secret: str  # shown once, stored nowhere


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    user: AbstractBaseUser,
    *,
    name: str,
    scope: str,
    expires_on: datetime.date | None = None,
    today: datetime.date | None = None,
) -> NewToken:
    """Create a personal token for a user; the secret is in the result and nowhere else."""
    name = (name or "").strip()
    today = today or timezone.localdate()
    if not user.is_active:
        raise PermissionRefused(_("An inactive user cannot have API tokens."), code="inactive")
    if not name:
        raise ValidationFailed(_("Name the token."), code="name_required", field="name")
    if scope not in ApiToken.Scope.values:
        raise ValidationFailed(_("Choose read or write."), code="invalid_scope", field="scope")
    if expires_on is not None and expires_on < today:
        raise ValidationFailed(
            _("The expiry date is in the past."), code="expiry_in_past", field="expires_on"
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                scope=scope,
                expires_on=expires_on,
                token_hash=hash_secret(secret),
            )
    except IntegrityError as e:
        # api_apitoken_one_live_name_per_user, even when two requests race.
        raise ValidationFailed(
            _("You already have a token named “%(name)s”.") % {"name": name},
            code="duplicate_name",
            field="name",
        ) from e
    return NewToken(token=token, secret=secret)


def revoke_token(token_id: int, *, actor: AbstractBaseUser | None) -> ApiToken:
    """Revoke a token at once (its owner, or a command run by an administrator: actor None).

    A token already revoked stays as it was: revoking twice changes nothing.
    """
    tokens = ApiToken.objects.filter(pk=token_id)
    if actor is not None:
        tokens = tokens.filter(user_id=actor.pk)
    token = tokens.first()
    if token is None:
        raise ValidationFailed(_("No such token."), code="unknown_token", field="token")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def authenticate(secret: str, *, today: datetime.date | None = None) -> ApiToken:
    """Return the live token a secret belongs to, or raise TokenRefused; note the day of use."""
    today = today or timezone.localdate()
    token = (
        ApiToken.objects.select_related("user").filter(token_hash=hash_secret(secret or "")).first()
    )
    if token is None or not token.user.is_active:
        raise TokenRefused(_("Invalid token."))
    if token.revoked_at is not None:
        raise TokenRefused(_("This token was revoked."), code="token_revoked")
    if not token.is_live(today):
        raise TokenRefused(_("This token has expired."), code="token_expired")
    # At most one write a day per token, whatever the traffic: a conditional UPDATE that
    # matches nothing once the day is recorded.
    if token.last_used_on != today:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_on__isnull=True) | Q(last_used_on__lt=today)
        ).update(last_used_on=today)
        token.last_used_on = today
    return token


def tokens_of(user: AbstractBaseUser):
    """A user's tokens, newest first, revoked ones included (the profile page lists them)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
