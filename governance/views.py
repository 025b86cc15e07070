"""Charter pages: a participant's acknowledgement page, and Ops' coverage."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.exceptions import ValidationFailed
from pilots import access
from pilots.models import Pilot

from . import charter, text


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "governance/message.html",
        {"title": _("Not allowed"), "message": message},
        status=403,
    )


@login_required
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    # Queries: the pilot, the participation, the version, the acknowledgement, the guardrails.
    pilot = get_object_or_404(Pilot.objects.select_related("team", "tool"), pk=pk)
    if not access.may_acknowledge_charter(request.user, pilot):
        return _refused(request, _("Only the pilot's participants acknowledge its charter."))
    version = charter.current_version()
    error = ""
    if request.method == "POST" and version is not None:
        if request.POST.get("agree") != "yes":
            error = _("Tick the box to say you have read the charter and the pilot's rules.")
        else:
            try:
                version_id = int(request.POST.get("version", ""))
            except ValueError:
                version_id = 0
            try:
                charter.acknowledge(pilot, user=request.user, version_id=version_id)
            except ValidationFailed as e:
                error = str(e.message)
            else:
                messages.success(
                    request,
                    _(
                        "Thank you: your acknowledgement is recorded. Your invitation follows "
                        "if a round of the pilot is open."
                    ),
                )
                return redirect("charter_acknowledge", pilot.pk)
    acknowledged = charter.acknowledged_now(request.user, pilot) if version else None
    body = version.body_for(translation.get_language() or "en") if version else ""
    return render(
        request,
        "governance/acknowledge.html",
        {
            "pilot": pilot,
            "version": version,
            "body": text.render(body),
            "guardrails": charter.policy_guardrails(pilot),
            "acknowledged": acknowledged,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    # Queries: the user's Ops check, the version, the pilots with their participants counted,
    # the acknowledgements counted per pilot — the same four whatever the number of pilots.
    if not access.may_see_charter_coverage(request.user):
        return _refused(request, _("Only Ops see charter coverage."))
    version, teams = charter.coverage(actor=request.user)
    return render(request, "governance/coverage.html", {"version": version, "teams": teams})
