"""The labels of a tabular inline's controls (templates/admin/edit_inline/tabular.html).

A row's controls have no label in Django's tabular inline, and a field may render several
inputs (a date and a time): each input gets the id its hidden label points at.
"""

from __future__ import annotations

from django import forms, template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def labelled_inputs(bound_field: forms.BoundField) -> list[tuple[str, str]]:
    """(id, part) of each input the field renders; part names it when there are several."""
    widget = bound_field.field.widget
    auto_id = bound_field.auto_id
    if not auto_id:
        return []
    if isinstance(widget, forms.MultiWidget):
        if isinstance(widget, forms.SplitDateTimeWidget):
            parts = [_("date"), _("time")]
        else:
            count = len(widget.widgets)
            parts = [
                _("part %(n)d of %(count)d") % {"n": n, "count": count} for n in range(1, count + 1)
            ]
        return [(f"{auto_id}_{i}", part) for i, part in enumerate(parts)]
    return [(bound_field.id_for_label, "")]
