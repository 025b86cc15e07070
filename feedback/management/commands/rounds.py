"""Ops act on feedback rounds from the shell, through the same functions the beat uses.

    manage.py rounds open --pilot ID [--pilot ID ...] --as USERNAME
    manage.py rounds remind --round ID --as USERNAME
    manage.py rounds close --round ID --as USERNAME

`--as` is required: it names the Ops user acting, who is checked (active, in Ops) and logged
as who did it, exactly as when they act in the admin. Nothing defaults to a superuser or to
the shell's user: an unattended script must say whose decision it carries out. A refusal
(the domain error's message) exits with status 1; running a command twice opens, reminds or
closes once, and the second run is refused saying why.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.exceptions import DomainError
from pilots.models import Pilot

from ... import scheduling


class Command(BaseCommand):
    help = (
        "Open the current period's round of a pilot, send a round's reminders, or close a"
        " round, now, as the named Ops user."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        opening = commands.add_parser(
            "open", help="Open the round the beat would open now for these pilots."
        )
        opening.add_argument(
            "--pilot", type=int, action="append", required=True, metavar="ID", dest="pilots"
        )
        reminding = commands.add_parser(
            "remind", help="Queue and send the round's reminders now (one per invitation)."
        )
        reminding.add_argument("--round", type=int, required=True, metavar="ID", dest="round")
        closing = commands.add_parser(
            "close", help="Close the round now; its guardrails are then evaluated."
        )
        closing.add_argument("--round", type=int, required=True, metavar="ID", dest="round")
        for sub in (opening, reminding, closing):
            sub.add_argument(
                "--as",
                required=True,
                metavar="USERNAME",
                dest="actor",
                help="The Ops user acting (checked, and logged as who did it).",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["actor"])
        command = options["command"]
        try:
            if command == "open":
                self._open(options["pilots"], actor)
            elif command == "remind":
                queued = scheduling.remind_now(options["round"], actor=actor)
                self.stdout.write(
                    ngettext(
                        "Round %(round)s: %(count)d reminder queued; it goes out now with a new"
                        " link.",
                        "Round %(round)s: %(count)d reminders queued; they go out now with new"
                        " links.",
                        queued,
                    )
                    % {"round": options["round"], "count": queued}
                )
            else:
                closed = scheduling.close_round_now(options["round"], actor=actor)
                self.stdout.write(
                    _(
                        "Round %(round)s closed: %(responses)d of %(invited)d answered. Its"
                        " guardrails are being evaluated."
                    )
                    % {
                        "round": closed.pk,
                        "responses": closed.response_count,
                        "invited": closed.invited_count,
                    }
                )
        except DomainError as e:
            raise CommandError(e.message) from e

    def _actor(self, username: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is named “%(name)s”.") % {"name": username})
        return user

    def _open(self, pilot_ids: list[int], actor) -> None:
        report = scheduling.open_rounds_now(pilot_ids, actor=actor)
        for round_ in report.opened:
            self.stdout.write(
                ngettext(
                    "“%(pilot)s” (pilot %(id)s): round %(round)s opened for the period that"
                    " began on %(start)s; %(count)d invitation queued.",
                    "“%(pilot)s” (pilot %(id)s): round %(round)s opened for the period that"
                    " began on %(start)s; %(count)d invitations queued.",
                    round_.prompt_count,
                )
                % {
                    "pilot": round_.pilot.title,
                    "id": round_.pilot_id,
                    "round": round_.pk,
                    "start": date_format(round_.period_start),
                    "count": round_.prompt_count,
                }
            )
        if report.refused:
            titles = dict(Pilot.objects.filter(pk__in=report.refused).values_list("pk", "title"))
            lines = []
            for pk, error in report.refused.items():
                if pk in titles:
                    label = _("“%(pilot)s” (pilot %(id)s)") % {"pilot": titles[pk], "id": pk}
                else:
                    label = _("Pilot %(id)s") % {"id": pk}
                lines.append(_("%(pilot)s: %(error)s") % {"pilot": label, "error": error.message})
            raise CommandError("\n".join(lines))
