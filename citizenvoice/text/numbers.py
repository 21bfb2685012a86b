"""Integers read from untrusted text: ids in paths, versions in forms, page numbers in query strings.

SQLite stores integers in 64 bits, and aiosqlite raises OverflowError for a Python int beyond that
before the query even runs, so a number typed into a URL must be range-checked before it reaches the
store. Everything here answers None (or a default) rather than raising: the caller decides whether an
unusable number is a 404, an error next to a field, or just the first page.
"""

from __future__ import annotations

from collections.abc import Mapping

# Ids and versions are positive and below SQLite's largest integer (2**63 - 1). At most 18 digits keeps
# every match of ID_PATTERN below it without a range check in the regex.
ID_PATTERN = "[1-9][0-9]{0,17}"
MAX_ID = 10**18 - 1
# Far more pages than any list here will have, and small enough that (page - 1) * page size, the
# OFFSET, stays a 64-bit integer.
MAX_PAGE = 1_000_000


def parse_int(raw: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """A decimal integer of ASCII digits within [low, high], else None.

    ``str.isdigit`` alone is not enough: it accepts superscripts such as "²" that int() refuses, and
    other scripts' digits that a person never meant as an id.
    """
    raw = raw.strip()
    if not raw or len(raw) > len(str(high)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def page_number(params: Mapping[str, str], name: str = "page") -> int:
    """The 1-based page from a query string; a missing, garbled or absurd value means the first page."""
    return parse_int(params.get(name, ""), low=1, high=MAX_PAGE) or 1
