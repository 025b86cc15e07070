"""What people need to trust an AI tool, and when a tool may be approved for lack of it.

A tool reaches "approved" only with every fact below recorded and checked by Ops within
`TOOL_RECHECK_DAYS`. The model's `clean` (the admin) and `pilots.tools.save_tool` (the API) ask
`validate_approval`, so both refuse with the same message naming the first missing field.

Tools approved before these facts existed stay approved (the rule applies to reaching the status,
not to keeping it); `missing_facts` and `AITool.objects.recheck_due` flag them to Ops instead.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import ValidationFailed

from .choices import TrainsOnData

if TYPE_CHECKING:
    from .models import AITool

# The facts an approved tool must state, in the order the tool page and the error name them.
# The model version is not among them: only some vendors state it.
REQUIRED_FACTS = (
    "model_name",
    "data_processed_in",
    "data_stored_in",
    "vendor_retention",
    "trains_on_customer_data",
    "output_ownership",
    "model_card_url",
    "dpa_url",
    "security_docs_url",
    "transparency_checked_on",
)


def recheck_days() -> int:
    return int(getattr(settings, "TOOL_RECHECK_DAYS", 365))


def recheck_cutoff(today: datetime.date) -> datetime.date:
    """Checks older than this day are past due."""
    return today - datetime.timedelta(days=recheck_days())


def recheck_due_on(tool: AITool) -> datetime.date | None:
    """The day the tool's facts must be checked again (None: never checked)."""
    if tool.transparency_checked_on is None:
        return None
    return tool.transparency_checked_on + datetime.timedelta(days=recheck_days())


def is_recheck_due(tool: AITool, today: datetime.date) -> bool:
    due = recheck_due_on(tool)
    return due is None or due < today


def missing_facts(tool: AITool) -> list[str]:
    """The names of the required facts the tool does not state ("unknown" training counts)."""
    missing = []
    for name in REQUIRED_FACTS:
        value = getattr(tool, name)
        if name == "trains_on_customer_data":
            if value not in (TrainsOnData.YES, TrainsOnData.NO):
                missing.append(name)
        elif value in (None, ""):
            missing.append(name)
    return missing


def incomplete_q() -> Q:
    """Tools missing any required fact, as a filter (the SQL twin of `missing_facts`)."""
    condition = ~Q(trains_on_customer_data__in=[TrainsOnData.YES, TrainsOnData.NO])
    for name in REQUIRED_FACTS:
        if name == "transparency_checked_on":
            condition |= Q(transparency_checked_on__isnull=True)
        elif name != "trains_on_customer_data":
            condition |= Q(**{name: ""})
    return condition


def validate_approval(tool: AITool, *, today: datetime.date | None = None) -> None:
    """Refuse a tool becoming approved without every fact, or with a check past due."""
    approved = type(tool).ApprovalStatus.APPROVED
    if tool.approval_status != approved:
        return
    if tool.pk is not None:
        before = (
            type(tool).objects.filter(pk=tool.pk).values_list("approval_status", flat=True).first()
        )
        if before == approved:
            return  # already approved: flagged if incomplete, never silently demoted
    missing = missing_facts(tool)
    if missing:
        field = missing[0]
        raise ValidationFailed(
            _("A tool cannot be approved until “%(field)s” is recorded.")
            % {"field": tool._meta.get_field(field).verbose_name},
            code="transparency_incomplete",
            field=field,
        )
    from django.utils import timezone

    if is_recheck_due(tool, today or timezone.localdate()):
        raise ValidationFailed(
            _(
                "A tool cannot be approved on facts checked more than %(days)s days ago: "
                "check them again."
            )
            % {"days": recheck_days()},
            code="transparency_stale",
            field="transparency_checked_on",
        )


_TRAINS = {
    TrainsOnData.YES: gettext_lazy("The vendor trains its models on what we send it."),
    TrainsOnData.NO: gettext_lazy("The vendor does not train its models on what we send it."),
    TrainsOnData.UNKNOWN: gettext_lazy("We do not know yet whether the vendor trains on our data."),
}


def plain_words(tool: AITool) -> list[dict]:
    """The tool's facts as sentences anyone can read: label, text, link (or None), missing."""
    not_stated = _("Not recorded yet.")

    def row(label: str, text: str, *, link: str = "", missing: bool = False) -> dict:
        return {"label": label, "text": text, "link": link or None, "missing": missing}

    model = tool.model_name
    if model and tool.model_version:
        model = _("%(model)s, version %(version)s") % {
            "model": model,
            "version": tool.model_version,
        }
    return [
        row(_("Vendor and model"), f"{tool.vendor} — {model}" if model else tool.vendor),
        row(
            _("Where your data is processed"),
            tool.data_processed_in or not_stated,
            missing=not tool.data_processed_in,
        ),
        row(
            _("Where your data is stored"),
            tool.data_stored_in or not_stated,
            missing=not tool.data_stored_in,
        ),
        row(
            _("How long the vendor keeps prompts and outputs"),
            tool.vendor_retention or not_stated,
            missing=not tool.vendor_retention,
        ),
        row(
            _("Training on our data"),
            str(_TRAINS[TrainsOnData(tool.trains_on_customer_data)]),
            missing=tool.trains_on_customer_data == TrainsOnData.UNKNOWN,
        ),
        row(
            _("Who owns what the tool produces"),
            tool.output_ownership or not_stated,
            missing=not tool.output_ownership,
        ),
        row(
            _("Model card"),
            _("Read the vendor’s model card") if tool.model_card_url else not_stated,
            link=tool.model_card_url,
            missing=not tool.model_card_url,
        ),
        row(
            _("Data processing agreement"),
            _("Read the agreement") if tool.dpa_url else not_stated,
            link=tool.dpa_url,
            missing=not tool.dpa_url,
        ),
        row(
            _("Security documents"),
            _("Read the security documents") if tool.security_docs_url else not_stated,
            link=tool.security_docs_url,
            missing=not tool.security_docs_url,
        ),
    ]
