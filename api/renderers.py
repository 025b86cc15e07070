"""Renderers of the report: Markdown and CSV, chosen by the Accept header or ?format=."""

from __future__ import annotations

import json

from rest_framework import renderers


class _TextRenderer(renderers.BaseRenderer):
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        # An error ({code, field, detail}) stays readable whatever was asked for.
        return json.dumps(data, default=str).encode(self.charset)


class MarkdownRenderer(_TextRenderer):
    media_type = "text/markdown"
    format = "md"


class CSVRenderer(_TextRenderer):
    media_type = "text/csv"
    format = "csv"
