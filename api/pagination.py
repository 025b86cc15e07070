"""Limit/offset pagination with a ceiling: no page is larger than MAX_LIMIT rows."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 200


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = MAX_LIMIT

    def get_offset(self, request) -> int:
        # An offset beyond the last row gives an empty page: a huge one would overflow the
        # database's integer (SQLite raises OverflowError, a 500).
        return min(super().get_offset(request), self.count)
