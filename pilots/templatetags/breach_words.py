"""`{{ breach|breach_words }}`: what broke, in the reader's language (pilots.breach_text)."""

from __future__ import annotations

from django import template

from ..breach_text import describe

register = template.Library()


@register.filter
def breach_words(breach) -> str:
    return describe(breach)
