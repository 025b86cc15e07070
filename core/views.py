"""Pages of the bottom layer: the audit log export for Ops."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import audit
from .ops import is_ops


@login_required
@require_GET
def export_audit(request: HttpRequest) -> HttpResponse:
    """Stream the change records of a period (?start=&end= days, format=csv|json) to Ops."""
    if not is_ops(request.user):
        return HttpResponse(_("Only Ops can export the audit log."), status=403)
    fmt = request.GET.get("format", "csv")
    if fmt not in audit.FORMATS:
        return _bad(_("Choose csv or json."), field="format")
    try:
        start, end = audit.parse_period(request.GET.get("start"), request.GET.get("end"))
    except audit.BadPeriod as e:
        return _bad(e.message, field=e.field)
    last_day = (end - datetime.timedelta(days=1)).date()
    name = f"audit-{start.date().isoformat()}-{last_day.isoformat()}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            audit.csv_lines(start, end), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(
            audit.json_chunks(start, end), content_type="application/json"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _bad(message: str, *, field: str) -> JsonResponse:
    return JsonResponse(
        {"code": audit.BadPeriod.code, "field": field, "message": message}, status=400
    )
