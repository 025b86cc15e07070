"""Create or revoke a personal API token for automation (the secret is printed once)."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exceptions import DomainError

from ... import tokens
from ...models import ApiToken


class Command(BaseCommand):
    help = "Create a personal API token (printed once) or revoke one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        create = sub.add_parser("create", help="Create a token and print it once.")
        create.add_argument("username")
        create.add_argument("--name", required=True)
        create.add_argument("--scope", choices=ApiToken.Scope.values, default="read")
        create.add_argument("--expires", type=datetime.date.fromisoformat, default=None)
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("id", type=int)

    def handle(self, *args, **options) -> None:
        try:
            if options["command"] == "create":
                self._create(options)
            else:
                token = tokens.revoke_token(options["id"], actor=None)
                self.stdout.write(f"Revoked token {token.pk} ({token.name}) of {token.user}.")
        except DomainError as e:
            raise CommandError(str(e)) from e

    def _create(self, options: dict) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        new = tokens.create_token(
            user, name=options["name"], scope=options["scope"], expires_on=options["expires"]
        )
        self.stderr.write(
            f"Token {new.token.pk} ({new.token.scope}) for {user}; shown once, store it now:"
        )
        self.stdout.write(new.secret)
