"""Filters for the Markdown export (templates/reports/pilot_report.md, autoescape off).

User text (titles, names, rationales, breach details, question texts) goes into table cells
and list items. Left raw, a "|" splits a cell, a newline ends the row or starts a heading, a
list item or a table of its own, and "<" opens raw HTML most Markdown renderers pass through.
"""

from __future__ import annotations

import re

from django import template

register = template.Library()

_NEWLINES = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_SPECIAL = str.maketrans({"\\": "\\\\", "|": "\\|", "<": "\\<", ">": "\\>", "`": "\\`"})


@register.filter
def md_cell(value) -> str:
    """One line of plain text, safe inside a Markdown table cell or list item."""
    if value is None:
        return ""
    text = _NEWLINES.sub(" ", str(value)).strip()
    return text.translate(_SPECIAL)
