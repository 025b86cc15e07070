"""Charter pages: a participant's acknowledgement page, and Ops' coverage."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.exceptions import PermissionRefused, ValidationFailed
from pilots import access, declarations
from pilots.models import Pilot

from . import champions, charter, text
from .forms import RelayForm, TrainingForm


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


@login_required
@require_http_methods(["GET", "POST"])
def champion_home(request: HttpRequest) -> HttpResponse:
    # Queries: the championed teams, then one each for pilots, breaches, declarations, waiting
    # requests, the charter version, its coverage (two), trainings and (in the template, from
    # incidents) the open incidents — whatever their number.
    found = champions.home(request.user)
    if not found.teams:
        return _refused(request, _("This page is for AI champions; Ops name them per team."))
    form = TrainingForm(request.POST or None, teams=found.teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            champions.record_training(
                data["team"],
                actor=request.user,
                topic=data["topic"],
                held_on=data["held_on"],
                attendees=data["attendees"],
                material_url=data["material_url"],
            )
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(request, _("Training session recorded."))
            return redirect("champion_home")
    return render(
        request,
        "governance/champion_home.html",
        {"home": found, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def champion_relay(request: HttpRequest) -> HttpResponse:
    teams = list(access.championed_teams(request.user).order_by("name"))
    if not teams:
        return _refused(request, _("This page is for AI champions; Ops name them per team."))
    form = RelayForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            declarations.relay(
                data["team"],
                champion=request.user,
                tool_name=data["tool_name"],
                vendor=data["vendor"],
                used_for=data["used_for"],
                data_classification=data["data_classification"],
            )
        except PermissionRefused as e:
            return _refused(request, str(e))
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("Declaration relayed. It names nobody, neither the person nor you."),
            )
            return redirect("champion_home")
    return render(
        request,
        "governance/champion_relay.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
def champion_coverage(request: HttpRequest) -> HttpResponse:
    if not access.may_see_champion_coverage(request.user):
        return _refused(request, _("Only Ops see which teams lack a champion."))
    teams = champions.teams_without_champion(actor=request.user)
    return render(request, "governance/champion_coverage.html", {"teams": teams})
