"""Charter text: Markdown rendered safely (CommonMark, raw HTML escaped, unsafe links dropped)."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# html=False: any HTML in the text is shown as text; markdown-it refuses javascript:, vbscript:
# and data: links by itself. Tables and strikethrough are all a charter needs beyond CommonMark.
_renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(markdown: str) -> SafeString:
    """Render a charter's Markdown to HTML that is safe to show as is."""
    return mark_safe(_renderer.render(markdown or ""))  # noqa: S308 # nosec B308 B703 - escaped
