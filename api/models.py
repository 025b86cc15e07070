"""Personal API tokens: only a hash of each secret is stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiTokenQuerySet(models.QuerySet):
    def live(self, today) -> ApiTokenQuerySet:
        """Tokens that still authenticate on `today`: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=today)
        )


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=5, choices=Scope, default=Scope.READ)
    # sha256 of the whole secret, hex: the secret itself is shown once and stored nowhere.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    # A day, not a time: a time of use would date the answers given with the token.
    last_used_on = models.DateField(_("last used on"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read", "write"]), name="api_apitoken_scope_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="api_apitoken_name_not_blank"),
            models.CheckConstraint(condition=~Q(token_hash=""), name="api_apitoken_hash_not_blank"),
            # Names tell a user's live tokens apart on the profile page.
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="api_apitoken_one_live_name_per_user",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def writes(self) -> bool:
        return self.scope == self.Scope.WRITE

    def is_live(self, today) -> bool:
        return self.revoked_at is None and (self.expires_on is None or self.expires_on >= today)
