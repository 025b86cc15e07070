"""Incident pages: report (named or anonymous), and Ops' register, triage and CSV export."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed
from core.ops import is_ops
from pilots.models import ENDED_STAGES, Pilot

from . import reporting
from .forms import LinkBreachForm, ReportForm, TriageForm
from .models import Incident

REGISTER_PAGE = 100


@login_required
def report(request: HttpRequest, *, anonymous: bool = False) -> HttpResponse:
    """Report an incident; at /incidents/report/anonymous/ without a name (and no log line)."""
    pilots = (
        Pilot.objects.visible_to(request.user)
        .exclude(stage__in=ENDED_STAGES)
        .select_related("team")
        .order_by("title")
    )
    # A link from a tool or pilot page fills in what the incident is about.
    initial = {k: request.GET[k] for k in ("pilot", "tool") if request.GET.get(k, "").isdigit()}
    form = ReportForm(request.POST or None, pilots=pilots, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reporting.report(actor=request.user, anonymous=anonymous, **form.cleaned_data)
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("Thank you: Ops received your report anonymously.")
                if anonymous
                else _("Thank you: Ops received your report and may contact you."),
            )
            return redirect("incident_report_anonymous" if anonymous else "incident_report")
    return render(
        request,
        "incidents/report.html",
        {"form": form, "anonymous": anonymous},
        status=400 if form.is_bound and form.errors else 200,
    )


def _ops_only(request: HttpRequest) -> None:
    if not is_ops(request.user):
        raise PermissionDenied


@login_required
def register(request: HttpRequest) -> HttpResponse:
    """The incident register (Ops): open ones first, newest first."""
    _ops_only(request)
    status = request.GET.get("status", "")
    incidents = Incident.objects.select_related("pilot", "tool").order_by(
        "status", "-reported_on", "pk"
    )
    if status in Incident.Status.values:
        incidents = incidents.filter(status=status)
    return render(
        request,
        "incidents/register.html",
        {
            "incidents": list(incidents[:REGISTER_PAGE]),
            "total": incidents.count(),
            "statuses": Incident.Status.choices,
            "status": status,
        },
    )


@login_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    _ops_only(request)
    incident = get_object_or_404(Incident.objects.select_related("pilot", "tool"), pk=pk)
    triage_form = TriageForm(request.POST if "triage" in request.POST else None)
    link_form = LinkBreachForm(request.POST if "link" in request.POST else None, incident=incident)
    if request.method == "POST":
        try:
            if "triage" in request.POST and triage_form.is_valid():
                reporting.triage(incident.pk, actor=request.user, **triage_form.cleaned_data)
                return redirect(incident)
            if "link" in request.POST and link_form.is_valid():
                reporting.link_breach(
                    incident.pk, actor=request.user, breach=link_form.cleaned_data["breach"]
                )
                return redirect(incident)
        except DomainError as e:
            form = triage_form if "triage" in request.POST else link_form
            form.add_error(e.field if e.field in form.fields else None, e.message)
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": incident,
            "steps": list(incident.triage.select_related("actor")),
            "breaches": list(incident.breaches.select_related("pilot")),
            "triage_form": triage_form,
            "link_form": link_form,
        },
        status=400 if request.method == "POST" else 200,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(cell: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted (as the audit export does).
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


@login_required
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The whole register as CSV (Ops), streamed."""
    _ops_only(request)
    writer = csv.writer(_Echo())
    rows = reporting.register_rows(Incident.objects.order_by("-reported_on", "pk"))
    response = StreamingHttpResponse(
        (writer.writerow([_safe(c) for c in row]) for row in rows), content_type="text/csv"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="incidents-{day}.csv"'
    return response
